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
