// Shared by the federation clients: their command line and how they report a failed call.
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

/** --url URL --prefixes a,b [--timeout-ms N]; undefined when the arguments are not that. */
export function parseArgs(argv) {
  const args = { url: undefined, prefixes: [], timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!value) return undefined;
    if (flag === "--url") args.url = value;
    else if (flag === "--prefixes") args.prefixes = value.split(",").filter((p) => p.length > 0);
    else if (flag === "--timeout-ms") args.timeoutMs = Number(value);
    else return undefined;
  }
  return args.url && args.prefixes.length > 0 ? args : undefined;
}

/** An HTTP status, a JSON-RPC error, or anything else, as JSON the tests read. */
export function describeError(error) {
  if (error instanceof StreamableHTTPError) return { kind: "http", status: error.code, message: error.message };
  if (error instanceof McpError) return { kind: "jsonrpc", code: error.code, message: error.message };
  return { kind: "other", name: error?.name ?? "Error", message: String(error?.message ?? error) };
}
