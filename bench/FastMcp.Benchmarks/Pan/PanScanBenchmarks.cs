using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using FastMcp.Pan;

namespace FastMcp.Benchmarks.Pan;

/// <summary>
/// The PAN scanner against the way most tools do it, on the same 1 MiB inputs: decode UTF-8 to chars, find
/// candidates with a source-generated .NET Regex, strip separators and check Luhn. Both are 0 B per operation
/// (the baseline decodes into a preallocated char buffer and enumerates matches over a span).
/// Inputs: "clean" MCP-style JSON text with almost no digits; "dense" JSON full of ids, timestamps, decimals,
/// UUIDs and dates (no card numbers); "cards" the dense input with a grouped card number every ~2 KB;
/// "japanese" answer text dense with fullwidth digits and punctuation (no card numbers), which the scanner
/// decodes character by character (on the other inputs, without any 0xEF byte, it only pays one test per block);
/// "arabic" Persian and Arabic answer text with Persian and Arabic-Indic digits (dates, amounts, phone numbers) and
/// "hindi" Hindi answer text with Devanagari digits, neither holding a card number: their letters share lead bytes
/// with their digits, which the block classification tells apart; "french" French answer text whose numbers touch
/// the lead bytes 0xC2 and 0xE2 of the no-break and typographic spaces (amounts grouped with U+202F, °, «», curly
/// quotes, dashes, ©), no card number: each digit run ends in a decode of the character after it; "invisible"
/// Vietnamese answer text (lead byte 0xE1, shared with invisible characters) whose numbers touch soft hyphens, zero
/// width spaces, bidi marks, variation selectors and emoji (0xF0), no card number: the scanner reads through the
/// invisible characters and decodes the character after each digit run.
/// GB/s = 1,048,576 bytes / mean time.
/// </summary>
[MemoryDiagnoser]
public partial class PanScanBenchmarks
{
    private const int InputSize = 1 << 20;

    private const string CleanLine =
        "{\"jsonrpc\":\"2.0\",\"id\":\"req-abc\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"The quick brown fox jumps over the lazy dog; lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\"}],\"isError\":false}}\n";

    private const string DenseLine =
        "{\"id\":4711,\"ts\":1732406400000,\"price\":12.5,\"qty\":3,\"items\":[1,22,333,4444,55555],\"uid\":\"550e8400-e29b-41d4-a716-446655440000\",\"t\":\"2026-11-24T00:00:00Z\",\"phone\":\"+1 555-123-4567\",\"order\":88421377}\n";

    private const string CardLine =
        "{\"id\":4712,\"ts\":1732406400000,\"note\":\"card 4111 1111 1111 1111 exp 12/29\",\"n\":5555555555554444}\n";

    private const string JapaneseLine =
        "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"ご注文（番号：１２３４５）は２０２６年１１月２４日に発送されました。数量３点、合計９，８００円です！お問い合わせは０３－１２３４－５６７８まで。\"}]}}\n";

    private const string ArabicLine =
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"سفارش شما (شماره: ۱۲۳۴۵) در تاریخ ۱۴۰۳/۰۹/۱۶ ارسال شد. تعداد ۳ عدد، مجموع ۹٬۸۰۰٬۰۰۰ ریال. تلفن پشتیبانی: ۰۲۱-۸۸۷۷۶۶۵۵ یا ۰۹۱۲ ۳۴۵ ۶۷۸۹. الطلب رقم ٤٧١١ بتاريخ ٢٠٢٦/١١/٢٤ بمبلغ ١٢٫٥ دينار.\"}]}}\n";

    private const string HindiLine =
        "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"आपका ऑर्डर (संख्या: १२३४५) २४/११/२०२६ को भेजा गया। मात्रा ३, कुल ₹९,८००। सहायता के लिए +९१ ९८७६५ ४३२१० पर कॉल करें या ०११-२३४५६७८९ पर लिखें।\"}]}}\n";

    private const string FrenchLine =
        "{\"jsonrpc\":\"2.0\",\"id\":10,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"Commande n°\u00A04711 expédiée le 24\u00A0novembre 2026 — total 1\u202F234,50\u00A0€, «\u00A012\u00A0» articles, 3°C à l’arrivée ; réf. “2026-11”—© 2026. Tél. 01\u00A023\u00A045\u00A067\u00A089.\"}]}}\n";

    private const string InvisibleLine =
        "{\"jsonrpc\":\"2.0\",\"id\":11,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"Đơn hàng số 4711 đã được giao ngày 24/11/2026 lúc 14giờ; tổng 1.234.500₫ (3 sản phẩm). Liên hệ: \u200E028\u200E 3823 4567. Mã: GIẢM10 👨\u200D👩\u200D👧 2🎉 con\u00ADtact\u00ADless pay\u00ADment 12\u00AD34, ref\u200B2026\u200B11, \u200F٤٧١١\u200F, 5\uFE0F\u20E3 ✔\uFE0F 99\u2060%.\"}]}}\n";

    [Params("clean", "dense", "cards", "japanese", "arabic", "hindi", "french", "invisible")]
    public string Input { get; set; } = "clean";

    private byte[] _original = [];
    private byte[] _work = [];
    private char[] _chars = [];
    private PanMasker _masker = null!;

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder(InputSize + 512);
        int line = 0;
        while (text.Length < InputSize)
        {
            text.Append(Input switch
            {
                "clean" => CleanLine,
                "dense" => DenseLine,
                "japanese" => JapaneseLine,
                "arabic" => ArabicLine,
                "hindi" => HindiLine,
                "french" => FrenchLine,
                "invisible" => InvisibleLine,
                _ => line % 8 == 7 ? CardLine : DenseLine,
            });
            line++;
        }
        // Exactly 1 MiB of UTF-8 (the non-ASCII texts have 2- and 3-byte characters; a cut one is just an invalid tail).
        _original = Encoding.UTF8.GetBytes(text.ToString()).AsSpan(0, InputSize).ToArray();
        _work = (byte[])_original.Clone();
        _chars = new char[InputSize];
        _masker = new PanMasker(new PanMaskingOptions { FingerprintKey = Encoding.ASCII.GetBytes("benchmark-fingerprint-key") });
    }

    /// <summary>Candidates: 12-19 digits with optional single space/dash separators, not inside a longer digit run.</summary>
    [GeneratedRegex(@"(?<!\d)\d(?:[ -]?\d){11,18}(?!\d)", RegexOptions.CultureInvariant)]
    private static partial Regex CandidateRegex();

    [Benchmark(Baseline = true, Description = "Regex+Luhn baseline (find)")]
    public int RegexLuhn()
    {
        int chars = Encoding.UTF8.GetChars(_original, _chars);
        ReadOnlySpan<char> text = _chars.AsSpan(0, chars);
        int found = 0;
        foreach (ValueMatch match in CandidateRegex().EnumerateMatches(text))
        {
            if (LuhnValid(text.Slice(match.Index, match.Length))) found++;
        }
        return found;
    }

    [Benchmark(Description = "PanMasker.ContainsCardNumber-style count (find)")]
    public int PanCount() => PanMasker.CountCardNumbers(_original);

    /// <summary>Masking in place; after the first pass the "cards" input is already masked, so later passes re-scan masked text.</summary>
    [Benchmark(Description = "PanMasker.MaskInPlace (find + mask)")]
    public int PanMask() => _masker.MaskInPlace(_work);

    private static bool LuhnValid(ReadOnlySpan<char> candidate)
    {
        int sum = 0, position = 0;
        for (int i = candidate.Length - 1; i >= 0; i--)
        {
            char c = candidate[i];
            if (c is ' ' or '-') continue;
            int d = (int)char.GetNumericValue(c); // \d matches every Unicode decimal digit: fullwidth, Arabic-Indic, Devanagari
            if ((position++ & 1) == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }
}
