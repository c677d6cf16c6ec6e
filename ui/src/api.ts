// Typed access to the command set: the generated bindings, with results
// unwrapped so callers `await` a value and `catch` a ControlError.
import { commands, type ControlError } from "./bindings";

export { commands };
export type * from "./bindings";

type Result<T> = { status: "ok"; data: T } | { status: "error"; error: ControlError };

/** Awaits a command and returns its value, throwing its ControlError. */
export async function call<T>(pending: Promise<Result<T>>): Promise<T> {
  const result = await pending;
  if (result.status === "error") throw result.error;
  return result.data;
}

/** A sentence for any failure: a ControlError's message, or the error's text. */
export function errorText(error: unknown): string {
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return String(error);
}

/** The ControlError kind, when the failure is one. */
export function errorKind(error: unknown): string | null {
  return error && typeof error === "object" && "kind" in error ? String((error as { kind: unknown }).kind) : null;
}
