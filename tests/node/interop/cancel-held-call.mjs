#!/usr/bin/env node
// One tools/call through the gateway with the official TypeScript MCP SDK that its caller aborts (AbortSignal) as soon
// as the first progress notification arrives (a held call's "waiting for approval"): the SDK then sends
// notifications/cancelled naming the call. Waits for that notification's POST to be answered, and prints ONE JSON document:
//   {"aborted":true,"reason":"...","cancelSent":true,"progress":N}
//
// usage: node cancel-held-call.mjs --url URL --token-file FILE --tool NAME --arguments JSON [--timeout-ms N]
// Exit code: 0 when a document was printed, 1 on an unexpected failure (the call returned, or no cancellation was sent), 2 on bad usage.

import { callerClient, parseCallerArgs } from "./caller-client.mjs";

const args = parseCallerArgs(process.argv.slice(2));
if (!args || !args.tool || !args.arguments) {
  console.error("usage: node cancel-held-call.mjs --url URL --token-file FILE --tool NAME --arguments JSON [--timeout-ms N]");
  process.exit(2);
}

const { client, transport } = callerClient(args, "fastmcp-cancel-ts");
// The SDK sends the cancellation without awaiting it; keep its promise to know the gateway took it.
let cancelSent;
const send = transport.send.bind(transport);
transport.send = (message, options) => {
  const sent = send(message, options);
  if (message?.method === "notifications/cancelled") cancelSent = sent;
  return sent;
};
try {
  await client.connect(transport, { timeout: args.timeoutMs });
  const abort = new AbortController();
  let progress = 0;
  try {
    await client.callTool({ name: args.tool, arguments: args.arguments }, undefined, {
      timeout: args.timeoutMs,
      resetTimeoutOnProgress: true,
      signal: abort.signal,
      onprogress: () => {
        progress++;
        abort.abort("the caller changed its mind");
      },
    });
    throw new Error("the call returned although it was aborted");
  } catch (e) {
    if (!abort.signal.aborted) throw e;
    if (!cancelSent) throw new Error("the SDK sent no notifications/cancelled");
    await cancelSent;
    console.log(JSON.stringify({ aborted: true, reason: String(e?.message ?? e), cancelSent: true, progress }));
  }
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`cancel-held-call: ${e?.stack ?? e}`);
  process.exit(1);
}
