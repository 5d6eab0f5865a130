#!/usr/bin/env node
// The server the official MCP conformance suite (@modelcontextprotocol/conformance, `server` scenarios)
// expects to find: the tools, prompts, resources, template and completion its scenarios name, built on the
// official TypeScript SDK (McpServer + StreamableHTTPServerTransport, one stateful session per initialize).
// The interop tests put it behind a plain gateway route and behind a federated route, so every scenario that
// involves a server-to-client exchange (sampling, elicitation, logging, progress) crosses the gateway.
//
// usage: node conformance-server.mjs [--port N]       (or PORT=N; 0 or unset picks a free port)
// Prints one line when listening:  conformance-server listening on http://127.0.0.1:PORT/mcp
import { randomUUID } from "node:crypto";
import http from "node:http";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { completable } from "@modelcontextprotocol/sdk/server/completable.js";
import {
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListToolsRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  isInitializeRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

// A 1x1 red PNG and a tiny silent mono 8 kHz 16-bit WAV, for the image, audio and binary-resource scenarios.
const PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
const WAV_SILENCE = silentWav(8);

function silentWav(samples) {
  const data = samples * 2;
  const wav = Buffer.alloc(44 + data);
  wav.write("RIFF", 0, "ascii");
  wav.writeUInt32LE(36 + data, 4);
  wav.write("WAVE", 8, "ascii");
  wav.write("fmt ", 12, "ascii");
  wav.writeUInt32LE(16, 16); // fmt chunk size
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24); // sample rate
  wav.writeUInt32LE(16000, 28); // byte rate
  wav.writeUInt16LE(2, 32); // block align
  wav.writeUInt16LE(16, 34); // bits per sample
  wav.write("data", 36, "ascii");
  wav.writeUInt32LE(data, 40);
  return wav.toString("base64");
}

const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const text = (t) => ({ type: "text", text: t });

function parsePort() {
  const argv = process.argv.slice(2);
  const at = argv.indexOf("--port");
  const raw = at >= 0 ? argv[at + 1] : process.env.PORT;
  const port = raw === undefined || raw === "" ? 0 : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error("usage: node conformance-server.mjs [--port N]");
    process.exit(2);
  }
  return port;
}

// Tools without an inputSchema get (extra) only; tools with one get (args, extra).
// One McpServer per session: the log level a client sets applies to that session only.
function createServer() {
  const server = new McpServer(
    { name: "fastmcp-conformance-server", version: "1.0.0" },
    { capabilities: { logging: {}, resources: { subscribe: true, listChanged: true } } },
  );
  let minimumLevel = "info";
  const subscriptions = new Set();

  server.server.setRequestHandler(SetLevelRequestSchema, async (request) => {
    minimumLevel = request.params.level;
    return {};
  });
  const log = (extra, level, data) => {
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(minimumLevel)) return Promise.resolve();
    // Sent through the request's own extra so it rides the tools/call response stream.
    return extra.sendNotification({ method: "notifications/message", params: { level, logger: "conformance", data } });
  };

  // ---- tools
  server.registerTool("test_simple_text", { description: "Returns a simple text response." },
    async () => ({ content: [text("This is a simple text response for testing.")] }));

  server.registerTool("test_image_content", { description: "Returns a 1x1 PNG image." },
    async () => ({ content: [{ type: "image", data: PNG_1X1, mimeType: "image/png" }] }));

  server.registerTool("test_audio_content", { description: "Returns a short silent WAV clip." },
    async () => ({ content: [{ type: "audio", data: WAV_SILENCE, mimeType: "audio/wav" }] }));

  server.registerTool("test_embedded_resource", { description: "Returns an embedded text resource." },
    async () => ({
      content: [{
        type: "resource",
        resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." },
      }],
    }));

  server.registerTool("test_multiple_content_types", { description: "Returns text, image and resource content together." },
    async () => ({
      content: [
        text("Multiple content types test:"),
        { type: "image", data: PNG_1X1, mimeType: "image/png" },
        {
          type: "resource",
          resource: { uri: "test://mixed-content-resource", mimeType: "application/json", text: JSON.stringify({ test: "data", value: 123 }) },
        },
      ],
    }));

  server.registerTool("test_tool_with_logging", { description: "Sends three info log messages while it runs." },
    async (extra) => {
      await log(extra, "info", "Tool execution started");
      await sleep(50);
      await log(extra, "info", "Tool processing data");
      await sleep(50);
      await log(extra, "info", "Tool execution completed");
      return { content: [text("Tool with logging executed successfully")] };
    });

  server.registerTool("test_tool_with_progress", { description: "Reports progress 0, 50 and 100 of 100 while it runs." },
    async (extra) => {
      const token = extra._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (token !== undefined) {
          await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress, total: 100 } });
        }
        if (progress < 100) await sleep(50);
      }
      return { content: [text("Tool with progress executed successfully")] };
    });

  server.registerTool("test_error_handling", { description: "Always fails with a tool error." },
    async () => ({ isError: true, content: [text("This tool intentionally returns an error for testing")] }));

  server.registerTool("test_sampling", {
    description: "Asks the client to sample an LLM reply to the prompt.",
    inputSchema: { prompt: z.string().describe("The prompt to send to the LLM") },
  }, async ({ prompt }, extra) => {
    if (!server.server.getClientCapabilities()?.sampling) {
      return { isError: true, content: [text("The client does not support sampling")] };
    }
    const reply = await extra.sendRequest({
      method: "sampling/createMessage",
      params: { messages: [{ role: "user", content: text(prompt) }], maxTokens: 100 },
    }, CreateMessageResultSchema);
    const said = reply.content?.type === "text" ? reply.content.text : JSON.stringify(reply.content);
    return { content: [text(`LLM response: ${said}`)] };
  });

  const elicit = async (extra, message, requestedSchema) => {
    if (!server.server.getClientCapabilities()?.elicitation) {
      return { isError: true, content: [text("The client does not support elicitation")] };
    }
    const answer = await extra.sendRequest({ method: "elicitation/create", params: { message, requestedSchema } }, ElicitResultSchema);
    return { content: [text(`Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`)] };
  };

  server.registerTool("test_elicitation", {
    description: "Asks the user (through the client) for a username and an email address.",
    inputSchema: { message: z.string().describe("The message to show the user") },
  }, async ({ message }, extra) => elicit(extra, message, {
    type: "object",
    properties: {
      username: { type: "string", description: "User's response" },
      email: { type: "string", description: "User's email address" },
    },
    required: ["username", "email"],
  }));

  server.registerTool("test_elicitation_sep1034_defaults", { description: "Elicits every primitive type with a default value (SEP-1034)." },
    async (extra) => elicit(extra, "Please review and update the form fields with defaults", {
      type: "object",
      properties: {
        name: { type: "string", description: "User name", default: "John Doe" },
        age: { type: "integer", description: "User age", default: 30 },
        score: { type: "number", description: "User score", default: 95.5 },
        status: { type: "string", description: "User status", enum: ["active", "inactive", "pending"], default: "active" },
        verified: { type: "boolean", description: "Verification status", default: true },
      },
      required: [],
    }));

  server.registerTool("test_elicitation_sep1330_enums", { description: "Elicits the five enum schema shapes (SEP-1330)." },
    async (extra) => elicit(extra, "Please select options from the enum fields", {
      type: "object",
      properties: {
        untitledSingle: { type: "string", description: "Untitled single-select", enum: ["option1", "option2", "option3"] },
        titledSingle: {
          type: "string",
          description: "Titled single-select",
          oneOf: [
            { const: "value1", title: "First Option" },
            { const: "value2", title: "Second Option" },
            { const: "value3", title: "Third Option" },
          ],
        },
        legacyEnum: {
          type: "string",
          description: "Legacy titled enum",
          enum: ["opt1", "opt2", "opt3"],
          enumNames: ["Option One", "Option Two", "Option Three"],
        },
        untitledMulti: {
          type: "array",
          description: "Untitled multi-select",
          items: { type: "string", enum: ["option1", "option2", "option3"] },
        },
        titledMulti: {
          type: "array",
          description: "Titled multi-select",
          items: {
            anyOf: [
              { const: "value1", title: "First Choice" },
              { const: "value2", title: "Second Choice" },
              { const: "value3", title: "Third Choice" },
            ],
          },
        },
      },
      required: [],
    }));

  // Closes its own SSE stream mid-call so the client has to resume with Last-Event-ID (SEP-1699). The SDK only
  // offers closeSSEStream to clients on protocol 2025-11-25 or later; older ones get the result on the open stream.
  server.registerTool("test_reconnection", { description: "Closes the response stream mid-call, then answers." },
    async (extra) => {
      extra.closeSSEStream?.();
      await sleep(100);
      return { content: [text("Reconnection test completed")] };
    });

  server.registerTool("json_schema_2020_12_tool", {
    description: "Tool with JSON Schema 2020-12 features",
    inputSchema: z.strictObject({
      name: z.string().optional(),
      address: z.object({ street: z.string().optional(), city: z.string().optional() }).optional(),
    }),
  }, async ({ name, address }) => ({ content: [text(`name=${name ?? ""}, address=${JSON.stringify(address ?? {})}`)] }));

  // ---- resources
  server.registerResource("static-text", "test://static-text",
    { description: "A static text resource", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "This is the content of the static text resource." }] }));

  server.registerResource("static-binary", "test://static-binary",
    { description: "A static binary resource (a 1x1 PNG)", mimeType: "image/png" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "image/png", blob: PNG_1X1 }] }));

  server.registerResource("watched-resource", "test://watched-resource",
    { description: "A resource clients can subscribe to", mimeType: "text/plain" },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: "text/plain", text: "Watched resource content." }] }));

  server.registerResource("template-data",
    new ResourceTemplate("test://template/{id}/data", {
      list: undefined,
      complete: { id: (value) => ["123", "456", "789"].filter((id) => id.startsWith(value)) },
    }),
    { description: "Data for one id, read through a URI template", mimeType: "application/json" },
    async (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }],
    }));

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscriptions.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });

  // ---- prompts
  server.registerPrompt("test_simple_prompt", { description: "A prompt without arguments" },
    async () => ({ messages: [{ role: "user", content: text("This is a simple prompt for testing.") }] }));

  const arg1Values = ["paris", "park", "party", "test", "testing", "testValue1"];
  server.registerPrompt("test_prompt_with_arguments", {
    description: "A prompt with two required arguments",
    argsSchema: {
      arg1: completable(z.string().describe("First test argument"), (value) => arg1Values.filter((v) => v.startsWith(value ?? ""))),
      arg2: z.string().describe("Second test argument"),
    },
  }, async ({ arg1, arg2 }) => ({
    messages: [{ role: "user", content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }],
  }));

  server.registerPrompt("test_prompt_with_embedded_resource", {
    description: "A prompt that embeds the resource it is given",
    argsSchema: { resourceUri: z.string().describe("URI of the resource to embed") },
  }, async ({ resourceUri }) => ({
    messages: [
      { role: "user", content: { type: "resource", resource: { uri: resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } } },
      { role: "user", content: text("Please process the embedded resource above.") },
    ],
  }));

  server.registerPrompt("test_prompt_with_image", { description: "A prompt carrying an image" },
    async () => ({
      messages: [
        { role: "user", content: { type: "image", data: PNG_1X1, mimeType: "image/png" } },
        { role: "user", content: text("Please analyze the image above.") },
      ],
    }));

  advertiseJsonSchema2020(server);
  return server;
}

// McpServer renders input schemas as draft-07; json-schema-2020-12 (SEP-1613) wants the tool listed with its
// 2020-12 document ($schema, $defs, $ref, additionalProperties) intact, so the listing is patched for that tool.
const JSON_SCHEMA_2020_12_INPUT = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  $defs: { address: { type: "object", properties: { street: { type: "string" }, city: { type: "string" } } } },
  properties: { name: { type: "string" }, address: { $ref: "#/$defs/address" } },
  additionalProperties: false,
};
function advertiseJsonSchema2020(server) {
  // The SDK keeps its handlers in a private map; there is no public way to read McpServer's tools/list handler.
  const listTools = server.server._requestHandlers?.get("tools/list");
  if (typeof listTools !== "function") throw new Error("the SDK's tools/list handler is not where this server expects it");
  server.server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
    const result = await listTools(request, extra);
    for (const tool of result.tools) {
      if (tool.name === "json_schema_2020_12_tool") tool.inputSchema = JSON_SCHEMA_2020_12_INPUT;
    }
    return result;
  });
}

// Keeps every event a session's streams carried so a client that lost a stream can resume it (SEP-1699).
class MemoryEventStore {
  #events = new Map(); // event id -> { streamId, message }
  #next = 0;

  async storeEvent(streamId, message) {
    const eventId = `${streamId}:${++this.#next}`;
    this.#events.set(eventId, { streamId, message });
    return eventId;
  }

  async getStreamIdForEventId(eventId) {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(lastEventId, { send }) {
    const last = this.#events.get(lastEventId);
    if (!last) throw new Error(`unknown event id ${lastEventId}`);
    let after = false;
    for (const [eventId, event] of this.#events) {
      if (after && event.streamId === last.streamId) await send(eventId, event.message);
      if (eventId === lastEventId) after = true;
    }
    return last.streamId;
  }
}

// DNS-rebinding protection: only loopback names may appear in Host and (when sent) Origin, any port.
const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
function isLoopbackHost(host) {
  if (!host) return false;
  try {
    return LOOPBACK_NAMES.has(new URL(`http://${host}`).hostname.toLowerCase());
  } catch {
    return false;
  }
}
function isLoopbackOrigin(origin) {
  if (origin === undefined) return true;
  try {
    return LOOPBACK_NAMES.has(new URL(origin).hostname.toLowerCase());
  } catch {
    return false;
  }
}

function reject(res, status, message) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

const sessions = new Map(); // session id -> transport

async function handle(req, res) {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  if (url.pathname !== "/mcp") return reject(res, 404, "Not found: the MCP endpoint is /mcp");
  if (!isLoopbackHost(req.headers.host) || !isLoopbackOrigin(req.headers.origin)) {
    return reject(res, 403, "Forbidden: Host and Origin must name a loopback address");
  }

  const sessionId = req.headers["mcp-session-id"];
  if (req.method === "POST") {
    let body;
    try {
      body = await readJson(req);
    } catch {
      return reject(res, 400, "Parse error: the body is not JSON");
    }
    if (sessionId !== undefined) {
      const transport = sessions.get(sessionId);
      if (!transport) return reject(res, 404, "Session not found");
      return transport.handleRequest(req, res, body);
    }
    if (!isInitializeRequest(body)) return reject(res, 400, "Bad Request: no session id and not an initialize request");
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEventStore(),
      retryInterval: 500,
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await createServer().connect(transport);
    return transport.handleRequest(req, res, body);
  }
  if (req.method === "GET" || req.method === "DELETE") {
    const transport = sessionId === undefined ? undefined : sessions.get(sessionId);
    if (!transport) return reject(res, sessionId === undefined ? 400 : 404, sessionId === undefined ? "Bad Request: no session id" : "Session not found");
    return transport.handleRequest(req, res);
  }
  res.setHeader("allow", "GET, POST, DELETE");
  return reject(res, 405, "Method not allowed");
}

const httpServer = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(`conformance-server: ${e?.stack ?? e}`);
    if (!res.headersSent) reject(res, 500, "Internal error");
    else res.end();
  });
});
httpServer.listen(parsePort(), "127.0.0.1", () => {
  console.log(`conformance-server listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
const stop = () => {
  for (const transport of sessions.values()) transport.close().catch(() => {});
  httpServer.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
