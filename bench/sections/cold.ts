/** Cold start (spawn → `initialize` answered, stdio) and the size of the `tools/list` answer. */
import { type BenchContext, runsFor, type SectionResult, serverEnv } from "../context.js";
import { type FigureRow, median } from "../figures.js";
import { startStdioServer } from "../processes.js";
import { TOOLS_LIST_BUDGET_BYTES } from "../../src/schema/listing.js";

export async function coldStart(ctx: BenchContext): Promise<SectionResult> {
  const runs = runsFor(ctx, 7, 3);
  const ours: number[] = [];
  const floor: number[] = [];
  let toolsBytes = 0;
  const perTool: Array<{ name: string; bytes: number }> = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always gets the warmer file cache.
    for (const which of i % 2 === 0 ? (["ours", "floor"] as const) : (["floor", "ours"] as const)) {
      if (which === "floor") {
        const server = await startStdioServer(ctx.minimalServerPath, {}, ctx.workDir);
        floor.push(server.connectMs);
        await server.close();
        continue;
      }
      const server = await startStdioServer(ctx.cliPath, serverEnv(ctx), ctx.workDir);
      ours.push(server.connectMs);
      if (i === 0) {
        const list = await server.client.listTools();
        toolsBytes = Buffer.byteLength(JSON.stringify(list));
        for (const tool of list.tools)
          perTool.push({ name: tool.name, bytes: Buffer.byteLength(JSON.stringify(tool)) });
      }
      await server.close();
    }
    ctx.log(`cold start ${i + 1}/${runs}: ours ${ours.at(-1)?.toFixed(0)} ms, minimal ${floor.at(-1)?.toFixed(0)} ms`);
  }
  const rows: FigureRow[] = [
    {
      figure: "Cold start: spawn → initialize answered (stdio, median)",
      unit: "ms",
      ours: median(ours),
      baseline: median(floor),
      goal: { kind: "report" },
    },
    {
      figure: "tools/list answer size (JSON, every tool)",
      unit: "bytes",
      ours: toolsBytes,
      goal: { kind: "at_most", limit: TOOLS_LIST_BUDGET_BYTES },
    },
    ...perTool.map(
      (t): FigureRow => ({ figure: `tools/list: ${t.name}`, unit: "bytes", ours: t.bytes, goal: { kind: "report" } }),
    ),
  ];
  return {
    rows,
    notes: [
      `Cold start: median of ${runs} spawns of \`node dist/cli.js\` (provider bfl), from spawn to the \`initialize\` answer through the SDK's StdioClientTransport; baseline: a minimal SDK server with one trivial tool, started the same way, alternating order.`,
      `tools/list: bytes of the JSON of the result (all ${perTool.length} tools: ${perTool.map((t) => t.name).join(", ")}), and of each tool's entry; it goes to the model on every turn, so its goal is ≤ ${TOOLS_LIST_BUDGET_BYTES.toLocaleString("en-US")} bytes (test/schema/listing.test.ts holds the same ceiling).`,
    ],
  };
}
