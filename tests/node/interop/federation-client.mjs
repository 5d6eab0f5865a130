#!/usr/bin/env node
// Federation client built on the official TypeScript MCP SDK: against one federated gateway path it lists
// tools, prompts and resources, calls "<prefix>__echo" on every prefix given, completes a prompt argument of each
// prefix's "completable-prompt", reads the first listed resource,
// and ends the session. Prints ONE JSON document; a call that fails is reported, not fatal.
//
// usage: node federation-client.mjs --url http://127.0.0.1:PORT/mcp/all --prefixes one,two [--timeout-ms N]
// Exit code: 0 when the session was opened and listed, 1 otherwise, 2 on bad usage.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describeError, parseArgs } from "./federation-args.mjs";

const args = parseArgs(process.argv.slice(2));
if (!args) {
  process.stderr.write("usage: node federation-client.mjs --url URL --prefixes a,b [--timeout-ms N]\n");
  process.exit(2);
}

const out = { echoes: {} };
let exitCode = 0;
const transport = new StreamableHTTPClientTransport(new URL(args.url));
const client = new Client({ name: "fastmcp-federation-ts", version: "1.0.0" }, { capabilities: {} });
client.onerror = () => {};
try {
  await client.connect(transport, { timeout: args.timeoutMs });
  out.serverName = client.getServerVersion()?.name;
  out.hasSessionId = typeof transport.sessionId === "string" && transport.sessionId.length > 0;
  out.toolNames = (await client.listTools(undefined, { timeout: args.timeoutMs })).tools.map((t) => t.name).sort();
  for (const prefix of args.prefixes) {
    try {
      const result = await client.callTool(
        { name: `${prefix}__echo`, arguments: { message: `hello from ${prefix}` } },
        undefined,
        { timeout: args.timeoutMs },
      );
      out.echoes[prefix] = { text: result.content?.[0]?.text, isError: result.isError ?? false };
    } catch (error) {
      out.echoes[prefix] = { error: describeError(error) };
    }
  }
  out.promptNames = (await client.listPrompts(undefined, { timeout: args.timeoutMs })).prompts.map((p) => p.name).sort();
  out.completions = {};
  for (const prefix of args.prefixes) {
    try {
      const completed = await client.complete(
        { ref: { type: "ref/prompt", name: `${prefix}__completable-prompt` }, argument: { name: "department", value: "Eng" } },
        { timeout: args.timeoutMs },
      );
      out.completions[prefix] = { values: completed.completion.values };
    } catch (error) {
      out.completions[prefix] = { error: describeError(error) };
    }
  }
  const resources = (await client.listResources(undefined, { timeout: args.timeoutMs })).resources;
  out.resourceCount = resources.length;
  if (resources.length > 0) {
    const read = await client.readResource({ uri: resources[0].uri }, { timeout: args.timeoutMs });
    out.read = { uri: resources[0].uri, contents: read.contents.length, sameUri: read.contents[0]?.uri === resources[0].uri };
  }
  try {
    await client.readResource({ uri: "unlisted://nowhere" }, { timeout: args.timeoutMs });
    out.unlistedRead = { ok: true };
  } catch (error) {
    out.unlistedRead = { error: describeError(error) };
  }
  await transport.terminateSession();
  out.terminated = transport.sessionId === undefined;
} catch (error) {
  out.failure = describeError(error);
  exitCode = 1;
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(exitCode);
