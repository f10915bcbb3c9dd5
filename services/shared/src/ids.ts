import { invalidArgument } from "./status.js";

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** True when `value` is a well-formed conversation or turn id. */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Throws INVALID_ARGUMENT naming `field` when `value` is not a well-formed id. */
export function requireValidId(field: string, value: string): void {
  if (!isValidId(value))
    invalidArgument(field, "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'");
}
