using System.Text;

namespace FastMcp.Http;

/// <summary>Request methods the gateway distinguishes; any other valid token is <see cref="Other"/>.</summary>
public enum HttpMethod : byte { Other, Get, Post, Delete, Head, Options, Put, Patch }

public static class HttpMethods
{
    public static HttpMethod Parse(ReadOnlySpan<byte> token) => token.Length switch
    {
        3 when token.SequenceEqual("GET"u8) => HttpMethod.Get,
        3 when token.SequenceEqual("PUT"u8) => HttpMethod.Put,
        4 when token.SequenceEqual("POST"u8) => HttpMethod.Post,
        4 when token.SequenceEqual("HEAD"u8) => HttpMethod.Head,
        5 when token.SequenceEqual("PATCH"u8) => HttpMethod.Patch,
        6 when token.SequenceEqual("DELETE"u8) => HttpMethod.Delete,
        7 when token.SequenceEqual("OPTIONS"u8) => HttpMethod.Options,
        _ => HttpMethod.Other,
    };
}

/// <summary>How the body of a message is delimited (RFC 9112 section 6).</summary>
public enum BodyFraming : byte { None, ContentLength, Chunked, UntilClose }
