#!/usr/bin/env node
// Interop client built on the official TypeScript MCP SDK. It runs named scenarios against one
// Streamable HTTP endpoint and prints ONE JSON document of normalized results on stdout, so that a
// run straight against a server and a run through the gateway can be compared for equality.
//
// usage: node ts-client.mjs --url http://127.0.0.1:PORT/mcp [--scenarios a,b,c] [--timeout-ms N]
// Exit code: 0 when every scenario ran as expected, 1 when one failed, 2 on bad usage.

import { createHash } from "node:crypto";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

export const ALL_SCENARIOS = [
  "initialize",
  "tools-list",
  "echo",
  "progress",
  "resources-read",
  "prompts-get",
  "delete",
];

// Run only when named: they call tools only some test servers have.
export const SERVER_SPECIFIC_SCENARIOS = ["reconnection"];

export const ECHO_MESSAGE = "interop echo: héllo, wörld";
export const PROGRESS_STEPS = 4;

function parseArgs(argv) {
  const args = { url: undefined, scenarios: ALL_SCENARIOS, timeoutMs: 30000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === "--url" && value) {
      args.url = value;
      i++;
    } else if (flag === "--scenarios" && value) {
      args.scenarios = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
      i++;
    } else if (flag === "--timeout-ms" && value) {
      args.timeoutMs = Number(value);
      i++;
    } else {
      return undefined;
    }
  }
  if (!args.url) return undefined;
  for (const name of args.scenarios) {
    if (!ALL_SCENARIOS.includes(name) && !SERVER_SPECIFIC_SCENARIOS.includes(name)) return undefined;
  }
  return args;
}

function sha256(text) {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

// Values that differ on every run (wall-clock times in server text) are replaced by a fixed
// token; everything else is kept as the server sent it.
function normalizeText(text) {
  return text.replace(/\b\d{1,2}:\d{2}:\d{2}(\s?[AP]M)?\b/g, "<time>");
}

function normalizeContent(content) {
  return (content ?? []).map((item) => {
    if (item.type === "text") return { type: "text", text: normalizeText(item.text) };
    if (item.type === "resource") {
      const r = item.resource ?? {};
      return {
        type: "resource",
        uri: r.uri,
        mimeType: r.mimeType,
        text: typeof r.text === "string" ? normalizeText(r.text) : undefined,
        blobSha256: typeof r.blob === "string" ? sha256(r.blob) : undefined,
      };
    }
    if (item.type === "image" || item.type === "audio") {
      return { type: item.type, mimeType: item.mimeType, dataSha256: sha256(item.data ?? "") };
    }
    return { type: item.type };
  });
}

function describeError(error) {
  if (error instanceof StreamableHTTPError) {
    return { kind: "http", status: error.code };
  }
  if (error instanceof McpError) {
    return { kind: "jsonrpc", code: error.code };
  }
  return { kind: "other", name: error?.name ?? "Error" };
}

async function connect(url, timeoutMs) {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client(
    { name: "fastmcp-interop-ts", version: "1.0.0" },
    { capabilities: {} },
  );
  client.onerror = () => {};
  await client.connect(transport, { timeout: timeoutMs });
  return { client, transport };
}

const scenarios = {
  async initialize({ client, transport }) {
    const info = client.getServerVersion() ?? {};
    const instructions = client.getInstructions() ?? "";
    return {
      serverName: info.name,
      serverTitle: info.title,
      serverVersion: info.version,
      protocolVersion: transport.protocolVersion,
      capabilities: client.getServerCapabilities(),
      instructionsSha256: sha256(instructions),
      hasSessionId: typeof transport.sessionId === "string" && transport.sessionId.length > 0,
    };
  },

  async "tools-list"({ client }, { timeoutMs }) {
    const result = await client.listTools(undefined, { timeout: timeoutMs });
    return { names: result.tools.map((t) => t.name).sort() };
  },

  async echo({ client }, { timeoutMs }) {
    const result = await client.callTool(
      { name: "echo", arguments: { message: ECHO_MESSAGE } },
      undefined,
      { timeout: timeoutMs },
    );
    return { isError: result.isError ?? false, content: normalizeContent(result.content) };
  },

  async progress({ client }, { timeoutMs }) {
    const progress = [];
    const result = await client.callTool(
      {
        name: "trigger-long-running-operation",
        arguments: { duration: 1, steps: PROGRESS_STEPS },
      },
      undefined,
      {
        timeout: timeoutMs,
        onprogress: (p) => progress.push({ progress: p.progress, total: p.total }),
      },
    );
    return {
      progressCount: progress.length,
      progress,
      isError: result.isError ?? false,
      content: normalizeContent(result.content),
    };
  },

  // The conformance server's test_reconnection tool closes the call's stream after its priming event (SEP-1699): the
  // SDK resumes it with GET and Last-Event-ID, and the answer comes on that stream. Its own client counts those GETs.
  async reconnection(_session, { url, timeoutMs }) {
    let resumingGets = 0;
    const counting = (input, init) => {
      if ((init?.method ?? "GET") === "GET" && new Headers(init?.headers).has("last-event-id")) resumingGets++;
      return fetch(input, init);
    };
    const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: counting });
    const client = new Client({ name: "fastmcp-interop-ts-reconnection", version: "1.0.0" }, { capabilities: {} });
    client.onerror = () => {};
    await client.connect(transport, { timeout: timeoutMs });
    try {
      const result = await client.callTool({ name: "test_reconnection", arguments: {} }, undefined, { timeout: timeoutMs });
      return { resumingGets, isError: result.isError ?? false, content: normalizeContent(result.content) };
    } finally {
      await client.close();
    }
  },

  async "resources-read"({ client }, { timeoutMs }) {
    const uris = [
      "demo://resource/static/document/features.md",
      "demo://resource/dynamic/text/1",
      "demo://resource/dynamic/blob/2",
    ];
    const reads = [];
    for (const uri of uris) {
      const result = await client.readResource({ uri }, { timeout: timeoutMs });
      reads.push({
        uri,
        contents: result.contents.map((c) => ({
          uri: c.uri,
          mimeType: c.mimeType,
          text: typeof c.text === "string" ? normalizeText(c.text) : undefined,
          textSha256: typeof c.text === "string" ? sha256(c.text) : undefined,
          // Dynamic blobs embed a creation time too: compare their decoded, normalized text.
          blobText:
            typeof c.blob === "string"
              ? normalizeText(Buffer.from(c.blob, "base64").toString("utf8"))
              : undefined,
        })),
      });
    }
    // The static document is long: keep its digest and length, drop the text itself.
    for (const c of reads[0].contents) {
      c.textLength = c.text?.length;
      delete c.text;
    }
    // The dynamic text carries a creation time: keep only the normalized text.
    for (const c of reads[1].contents) delete c.textSha256;
    return { reads };
  },

  async "prompts-get"({ client }, { timeoutMs }) {
    const listed = await client.listPrompts(undefined, { timeout: timeoutMs });
    const simple = await client.getPrompt({ name: "simple-prompt" }, { timeout: timeoutMs });
    const args = await client.getPrompt(
      { name: "args-prompt", arguments: { city: "Lisbon", state: "Estremadura" } },
      { timeout: timeoutMs },
    );
    const messages = (r) =>
      r.messages.map((m) => ({ role: m.role, content: normalizeContent([m.content])[0] }));
    return {
      names: listed.prompts.map((p) => p.name).sort(),
      simple: messages(simple),
      args: messages(args),
    };
  },

  // Ends the session with DELETE, then shows that the ended session is refused: once by the
  // SDK client (which drops the id and so sends none) and once by a transport that still
  // presents the old id.
  async delete({ client, transport }, { url, timeoutMs }) {
    const oldSessionId = transport.sessionId;
    await transport.terminateSession();
    const afterDelete = {};
    try {
      await client.callTool(
        { name: "echo", arguments: { message: "after delete" } },
        undefined,
        { timeout: timeoutMs },
      );
      afterDelete.sdkClient = { failed: false };
    } catch (error) {
      afterDelete.sdkClient = { failed: true, error: describeError(error) };
    }
    const stale = new StreamableHTTPClientTransport(new URL(url), { sessionId: oldSessionId });
    stale.onerror = () => {};
    await stale.start();
    if (transport.protocolVersion) stale.setProtocolVersion(transport.protocolVersion);
    try {
      await stale.send({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "echo", arguments: { message: "stale session" } },
      });
      afterDelete.staleSession = { failed: false };
    } catch (error) {
      afterDelete.staleSession = { failed: true, error: describeError(error) };
    } finally {
      await stale.close();
    }
    return {
      terminated: transport.sessionId === undefined,
      afterDelete,
    };
  },
};

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!args) {
    process.stderr.write(
      `usage: ts-client.mjs --url URL [--scenarios ${ALL_SCENARIOS.join(",")}] [--timeout-ms N]\n`,
    );
    process.exit(2);
  }
  const output = { client: "typescript-sdk", scenarios: {} };
  let failed = false;
  let session;
  try {
    session = await connect(args.url, args.timeoutMs);
  } catch (error) {
    output.connectError = { ...describeError(error), message: String(error?.message ?? error) };
    process.stdout.write(JSON.stringify(output, null, 2) + "\n");
    process.exit(1);
  }
  // "delete" ends the session, so it always runs last.
  const ordered = args.scenarios
    .filter((s) => s !== "delete")
    .concat(args.scenarios.includes("delete") ? ["delete"] : []);
  for (const name of ordered) {
    try {
      output.scenarios[name] = await scenarios[name](session, args);
    } catch (error) {
      failed = true;
      output.scenarios[name] = {
        failed: true,
        error: describeError(error),
        message: String(error?.message ?? error),
      };
    }
  }
  try {
    await session.client.close();
  } catch {
    // Closing after a terminated session may report the aborted GET stream; nothing to keep.
  }
  process.stdout.write(JSON.stringify(output, null, 2) + "\n");
  process.exit(failed ? 1 : 0);
}

await main();
