#!/usr/bin/env node
// An MCP task through the gateway with the official TypeScript MCP SDK, as an identified caller (tasks tests):
// connects with a bearer token from a file and either
//   --tool NAME --arguments JSON     calls the tool as a task (params.task), follows it to its result, then polls
//                                    tasks/get and tasks/list for it, and prints
//                                    {"ok":true,"taskId":"…","statuses":[…],"content":[…],"polled":"completed","listed":true}
//   --foreign-task-id ID             names a task created by someone else in tasks/get, tasks/result and tasks/cancel,
//                                    and lists tasks, and prints {"get":{"code":-32602},…,"listed":[ids]}
// Exit code: 0 when a document was printed, 1 on an unexpected failure, 2 on bad usage.

import { CallToolResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { callerClient, parseCallerArgs } from "./caller-client.mjs";

function parseArgs(argv) {
  const args = parseCallerArgs(argv, { "--foreign-task-id": "foreignTaskId" });
  const oneMode = args && ((args.tool && args.arguments) || args.foreignTaskId);
  return oneMode ? args : undefined;
}

const args = parseArgs(process.argv.slice(2));
if (!args) {
  console.error("usage: node task-call.mjs --url URL --token-file FILE (--tool NAME --arguments JSON | --foreign-task-id ID) [--timeout-ms N]");
  process.exit(2);
}

async function outcome(call) {
  try {
    const result = await call();
    return { ok: true, status: result?.status ?? null };
  } catch (e) {
    if (!(e instanceof McpError)) throw e;
    return { code: e.code, message: e.message };
  }
}

const { client, transport } = callerClient(args, "fastmcp-tasks-ts");
const options = { timeout: args.timeoutMs };
try {
  await client.connect(transport, options);
  const tasks = client.experimental.tasks;
  if (args.foreignTaskId) {
    const id = args.foreignTaskId;
    const get = await outcome(() => tasks.getTask(id, options));
    const result = await outcome(() => tasks.getTaskResult(id, CallToolResultSchema, options));
    const cancel = await outcome(() => tasks.cancelTask(id, options));
    const listed = (await tasks.listTasks(undefined, options)).tasks.map((t) => t.taskId);
    console.log(JSON.stringify({ get, result, cancel, listed }));
  } else {
    await client.listTools(undefined, options);
    const statuses = [];
    let taskId;
    let content;
    let error;
    const stream = tasks.callToolStream({ name: args.tool, arguments: args.arguments }, CallToolResultSchema, { ...options, task: { ttl: 60000 } });
    for await (const message of stream) {
      if (message.type === "taskCreated") taskId = message.task.taskId;
      else if (message.type === "taskStatus") statuses.push(message.task.status);
      else if (message.type === "result") content = message.result.content;
      else if (message.type === "error") error = { code: message.error?.code, message: String(message.error?.message ?? message.error) };
    }
    const polled = taskId ? (await tasks.getTask(taskId, options)).status : null;
    const listed = taskId ? (await tasks.listTasks(undefined, options)).tasks.some((t) => t.taskId === taskId) : false;
    console.log(JSON.stringify({ ok: error === undefined, taskId, statuses, content, error, polled, listed }));
  }
  await client.close();
  process.exit(0);
} catch (e) {
  console.error(`task-call: ${e?.stack ?? e}`);
  process.exit(1);
}
