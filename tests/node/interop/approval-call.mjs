#!/usr/bin/env node
// One tools/call through the gateway with the official TypeScript MCP SDK, as an identified caller,
// for the approvals tests: connects (bearer token from a file), initializes, calls one tool with
// progress reporting on, and prints ONE JSON document:
//   {"ok":true,"isError":false,"content":[...],"progress":[...]}            the call returned a result
//   {"ok":false,"code":-32002,"message":"...","data":{...},"progress":[...]} it failed with a JSON-RPC error
//
// usage: node approval-call.mjs --url URL --token-file FILE --tool NAME --arguments JSON [--timeout-ms N]
// Exit code: 0 when a document was printed (either outcome), 1 on an unexpected failure, 2 on bad usage.

import { McpError } from "@modelcontextprotocol/sdk/types.js";
import { callerClient, parseCallerArgs } from "./caller-client.mjs";

function parseArgs(argv) {
  const args = parseCallerArgs(argv);
  return args && args.tool && args.arguments ? args : undefined;
}

const args = parseArgs(process.argv.slice(2));
if (!args) {
  console.error("usage: node approval-call.mjs --url URL --token-file FILE --tool NAME --arguments JSON [--timeout-ms N]");
  process.exit(2);
}

const { client, transport } = callerClient(args, "fastmcp-approvals-ts");
const progress = [];
try {
  await client.connect(transport, { timeout: args.timeoutMs });
  try {
    const result = await client.callTool({ name: args.tool, arguments: args.arguments }, undefined, {
      timeout: args.timeoutMs,
      resetTimeoutOnProgress: true,
      onprogress: (p) => progress.push({ progress: p.progress, message: p.message }),
    });
    console.log(JSON.stringify({ ok: true, isError: result.isError ?? false, content: result.content, progress }));
  } catch (e) {
    if (!(e instanceof McpError)) throw e;
    console.log(JSON.stringify({ ok: false, code: e.code, message: e.message, data: e.data ?? null, progress }));
  }
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`approval-call: ${e?.stack ?? e}`);
  process.exit(1);
}
