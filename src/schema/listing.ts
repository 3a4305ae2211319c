import { z } from "zod";

/**
 * `tools/list` goes to the model on every turn, so what it carries is budgeted (≤ TOOLS_LIST_BUDGET_BYTES,
 * test/schema/listing.test.ts): each thing is said once, where it is said best.
 *
 * These helpers leave out what tells a model nothing. zod lays a schema's metadata over the JSON Schema it
 * generated, and its result goes through a JSON round trip that drops keys set to `undefined`; validation
 * (the zod schema itself) is unchanged.
 */

/** The whole `tools/list` answer (JSON bytes) with every tool in: the ceiling issues 21 and 24 set, with everything the 2026-12 round adds. */
export const TOOLS_LIST_BUDGET_BYTES = 19_500;

/** A tool's input or output schema as listed: without the `$schema` line zod writes into each of them. */
export function listed<T extends z.ZodType>(schema: T): T {
  return schema.meta({ $schema: undefined }) as T;
}

/**
 * An object in an output schema: without the `additionalProperties: false` zod writes for every object of an
 * output. A result object never has other fields; saying so on each tells a model nothing.
 */
export function outputObject<Shape extends z.core.$ZodLooseShape>(shape: Shape) {
  return z.object(shape).meta({ additionalProperties: undefined });
}

/** A tool's output schema as listed: as `listed`, and its root object as `outputObject`. */
export function listedOutput<T extends z.ZodType>(schema: T): T {
  return schema.meta({ $schema: undefined, additionalProperties: undefined }) as T;
}

/** A field described in the primary tool (flux_fill): listed here with its type, bounds and default only. */
export function saidInFluxFill<T extends z.ZodType>(field: T): T {
  return field.meta({ description: undefined }) as T;
}

/**
 * An integer in an output schema: without the ±2^53 bounds zod gives every `.int()` (they bound nothing a
 * result can hold). Input integers keep theirs: those are the upstream's published schema.
 */
export function outputInt() {
  return z.number().int().meta({ minimum: undefined, maximum: undefined });
}
