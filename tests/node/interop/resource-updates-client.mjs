#!/usr/bin/env node
// Subscribes to a resource of server-everything through the gateway with the official TypeScript SDK, turns its
// simulated updates on, and prints each notifications/resources/updated it receives (`update before|after <uri>`).
// The test reloads the gateway's policy between the phases: it creates --go-file once the reload is applied, and
// --stop-file when it has seen the gateway withhold updates; the script then prints `after-count N` and exits.
// Usage: resource-updates-client.mjs --url URL --go-file FILE --stop-file FILE
import { existsSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const args = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
if (!args.url || !args["go-file"] || !args["stop-file"]) {
  console.error("usage: resource-updates-client.mjs --url URL --go-file FILE --stop-file FILE");
  process.exit(2);
}

// Bounded waits: a condition polled every 50 ms for at most `ms`.
async function waitFor(condition, ms, what) {
  for (let waited = 0; !condition(); waited += 50) {
    if (waited >= ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const client = new Client({ name: "resource-updates-client", version: "1.0.0" }, { capabilities: {} });
client.onerror = () => {};
let phase = "before";
const counts = { before: 0, after: 0 };
client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
  counts[phase]++;
  console.log(`update ${phase} ${n.params.uri}`);
});

try {
  await client.connect(new StreamableHTTPClientTransport(new URL(args.url)));
  const { resources } = await client.listResources();
  const uri = resources[0].uri;
  await client.subscribeResource({ uri });
  await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
  console.log(`subscribed ${uri}`);
  await waitFor(() => counts.before > 0, 30000, "a first update");
  console.log("first-update");
  await waitFor(() => existsSync(args["go-file"]), 60000, "the reload");
  phase = "after";
  console.log("reloaded");
  await waitFor(() => existsSync(args["stop-file"]), 60000, "the stop file");
  console.log(`after-count ${counts.after}`);
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`resource-updates-client: ${e.stack ?? e}`);
  process.exit(1);
}
