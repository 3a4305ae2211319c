/**
 * Error messages for tool arguments, written for the model that must fix its call: which field, the
 * value it sent and what is accepted. Attached to schemas with zod's `error` parameter, so the SDK's own
 * validation (which runs before our handler) reports them.
 */
type Issue = { code?: string; input?: unknown; keys?: string[] };

function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** `field must be <accepted>; got <value>.` for every issue a field's schema can raise. */
export function fieldError(field: string, accepted: string) {
  return (issue: Issue) => `${field} must be ${accepted}; got ${shown(issue.input)}.`;
}

/** Names unknown fields and lists the accepted ones; other object-level issues keep zod's message. */
export function unknownFieldsError(accepted: () => string[]) {
  return (issue: Issue) =>
    issue.code === "unrecognized_keys"
      ? `Unknown field(s): ${(issue.keys ?? []).join(", ")}. Accepted fields: ${accepted().join(", ")}.`
      : undefined;
}

/**
 * Argument names no tool accepts, whatever its schema: a JSON `"__proto__"` key is dropped (not rejected)
 * by the SDK's own parse of the call before the tool's strict schema sees it, and the other two are
 * object-model names no field is called.
 */
export const FORBIDDEN_FIELD_NAMES = ["__proto__", "constructor", "prototype"] as const;

/** The forbidden names among a tool call's own top-level argument keys. */
export function forbiddenFields(args: unknown): string[] {
  if (args === null || typeof args !== "object" || Array.isArray(args)) return [];
  return FORBIDDEN_FIELD_NAMES.filter((name) => Object.hasOwn(args, name));
}

/** The message for them, worded like any other unknown field. */
export function forbiddenFieldsMessage(fields: string[]): string {
  return `Unknown field(s): ${fields.join(", ")}. No tool accepts ${FORBIDDEN_FIELD_NAMES.join(", ")} as a field; remove it.`;
}
