// mcp-sdk.cjs: moat mcp driven by the official TypeScript SDK's client
// (@modelcontextprotocol/sdk), for tests/e2e/mcp-sdk.sh. Usage: node
// mcp-sdk.cjs SDK_DIR TAG (MOAT names the binary). Prints one line per
// check: "ok<TAB>what" or "not ok<TAB>what<TAB>why". The SDK checks each
// result's structuredContent against the tool's outputSchema itself.
const { createRequire } = require("module");
const sdk = createRequire(process.argv[2] + "/");
const { Client } = sdk("@modelcontextprotocol/sdk/client/index.js");
const { StdioClientTransport } = sdk("@modelcontextprotocol/sdk/client/stdio.js");
const tag = process.argv[3];

function say(good, what, why) {
	console.log((good ? "ok" : "not ok") + "\t" + what + (good ? "" : "\t" + why));
}

(async () => {
	const transport = new StdioClientTransport({
		command: process.env.MOAT, args: ["mcp"], env: process.env,
		cwd: process.cwd(), stderr: "ignore",
	});
	const client = new Client({ name: "sdk-test", version: "1.0.0" });
	try {
		await client.connect(transport);
		say(client.getServerVersion()?.name === "moat",
		    "the SDK client connects (initialize, initialized)",
		    JSON.stringify(client.getServerVersion()));
		const { tools } = await client.listTools();
		say(tools.length === 10 && tools.every(t => t.outputSchema),
		    "listTools: 10 tools with output schemas", JSON.stringify(tools.map(t => t.name)));
		const r = await client.callTool({ name: "run_command",
		    arguments: { command: "echo sdk-" + tag } });
		say(r.structuredContent?.stdout === "sdk-" + tag + "\n" && !r.isError,
		    "callTool run_command: structuredContent valid for its schema",
		    JSON.stringify(r));
		const w = await client.callTool({ name: "write_file",
		    arguments: { path: "sdk-" + tag + ".txt", content: "from the sdk" } });
		const rd = await client.callTool({ name: "read_file",
		    arguments: { path: "sdk-" + tag + ".txt" } });
		say(w.structuredContent?.bytes === 12 && rd.structuredContent?.content === "from the sdk",
		    "callTool write_file then read_file", JSON.stringify([w, rd]));
		const runs = await client.callTool({ name: "list_runs", arguments: { limit: 1 } });
		say(runs.structuredContent?.runs?.[0]?.client === "sdk-test",
		    "list_runs: the SDK client's name is recorded", JSON.stringify(runs));
		let progress = 0;
		const ac = new AbortController();
		const slow = client.callTool({ name: "run_command",
		    arguments: { command: "sleep 2" + tag } }, undefined, {
			signal: ac.signal,
			onprogress: () => { progress++; if (progress === 2) ac.abort("enough"); },
		});
		let aborted = false;
		try { await slow; } catch (e) { aborted = true; }
		say(progress >= 2 && aborted, "progress while it runs; the SDK's abort cancels it",
		    "progress " + progress + " aborted " + aborted);
	} catch (e) {
		say(false, "the SDK session", String(e && e.stack || e));
	}
	await client.close();
})();
