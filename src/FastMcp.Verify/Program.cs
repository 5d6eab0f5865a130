// fastmcp-verify: the auditor's standalone verifier (same code as `fastmcp verify`).
return await FastMcp.Audit.VerifyCommand.RunAsync(args, Console.Out, Console.Error);
