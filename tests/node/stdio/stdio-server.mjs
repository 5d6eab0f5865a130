#!/usr/bin/env node
// A stdio MCP server built on the official TypeScript SDK (StdioServerTransport), run by the
// gateway's stdio upstream in the interop tests. Its tools show what the gateway must do with a
// stdio server: pass calls through, mask the card number it returns, refuse what policy denies,
// and survive the server crashing or writing an oversized message.
import { readFileSync, writeFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "fastmcp-stdio-test", version: "1.0.0" });
const text = (t) => ({ content: [{ type: "text", text: t }] });

server.registerTool("echo", { description: "Returns the message.", inputSchema: { message: z.string() } },
  async ({ message }) => text(`echo: ${message}`));
server.registerTool("card_on_file", { description: "Returns a customer's card (a public test number).", inputSchema: {} },
  async () => text("card on file: 4111 1111 1111 1111, exp 12/29"));
server.registerTool("whoami", { description: "The server's pid, user, groups and the names of its environment variables.", inputSchema: {} },
  async () => text(JSON.stringify({ pid: process.pid, uid: process.getuid(), gid: process.getgid(), groups: process.getgroups(),
    env: Object.keys(process.env).sort() })));
server.registerTool("read", { description: "A file's content, or the error reading it (what a server running as another user may not).", inputSchema: { path: z.string() } },
  async ({ path }) => { try { return text(`content: ${readFileSync(path, "utf8")}`); } catch (e) { return text(`error: ${e.code}`); } });
server.registerTool("forbidden", { description: "Leaves a marker file when it runs (policy denies it).", inputSchema: { marker: z.string() } },
  async ({ marker }) => { writeFileSync(marker, "ran"); return text("ran"); });
server.registerTool("crash", { description: "Exits in the middle of the call.", inputSchema: {} },
  async () => { process.exit(3); });
server.registerTool("flood", { description: "Returns n bytes of text (one long stdout line).", inputSchema: { n: z.number() } },
  async ({ n }) => text("x".repeat(n)));

server.registerTool("spin", { description: "Keeps a CPU busy for ms milliseconds, then answers.", inputSchema: { ms: z.number() } },
  async ({ ms }) => { const end = Date.now() + ms; while (Date.now() < end) { /* busy */ } return text("spun"); });

server.registerTool("ask", { description: "Asks the client to sample a reply (a server-to-client request) and returns it.", inputSchema: {} },
  async () => {
    const reply = await server.server.createMessage({
      messages: [{ role: "user", content: { type: "text", text: "say hi" } }],
      maxTokens: 16,
    });
    return text(`client said: ${reply.content.text}`);
  });
server.registerTool("notify_later", { description: "Answers now; 300 ms later tells the client its tool list changed.", inputSchema: {} },
  async () => { setTimeout(() => server.sendToolListChanged(), 300); return text("will notify"); });

process.stderr.write("stdio-server ready\n");
await server.connect(new StdioServerTransport());
