// Shared by the clients that call as an identified caller (approval-call, task-call): their command line and their
// connection to the gateway with the official TypeScript SDK, with a bearer token read from a file.
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/**
 * --url URL --token-file FILE [--tool NAME] [--arguments JSON] [--timeout-ms N] and the script's own flags
 * (extraFlags: flag → property); undefined when a flag is unknown or has no value.
 */
export function parseCallerArgs(argv, extraFlags = {}) {
  const args = { timeoutMs: 60000 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) return undefined;
    if (flag === "--url") args.url = value;
    else if (flag === "--token-file") args.tokenFile = value;
    else if (flag === "--tool") args.tool = value;
    else if (flag === "--arguments") args.arguments = JSON.parse(value);
    else if (flag === "--timeout-ms") args.timeoutMs = Number(value);
    else if (Object.hasOwn(extraFlags, flag)) args[extraFlags[flag]] = value;
    else return undefined;
  }
  return args.url && args.tokenFile ? args : undefined;
}

/** A client (not yet connected) whose requests carry the token in args.tokenFile; its transport errors are not printed. */
export function callerClient(args, name) {
  const token = readFileSync(args.tokenFile, "utf8").trim();
  const transport = new StreamableHTTPClientTransport(new URL(args.url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name, version: "1.0.0" }, { capabilities: {} });
  client.onerror = () => {};
  return { client, transport };
}
