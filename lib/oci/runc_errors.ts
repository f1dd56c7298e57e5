/**
 * Turning what runc prints when it fails into one-line typed errors. runc logs as JSON
 * (`{"level":"error","msg":"container not running",...}`) under `--log-format json`, as logrus
 * text (`time="..." level=error msg="..."`) otherwise, and prints its fatal message plainly when
 * `--log` sends the log to a file. The error names the runc verb: `runc kill: container not
 * running`.
 *
 * @example
 * ```ts
 * runcErrorMessage('{"level":"error","msg":"container not running"}\n'); // "container not running"
 * runtimeErrorFor("kill", "container not running"); // RuntimeError("runc kill: container not running")
 * ```
 * @module
 */
import {
  CommandNotFoundError,
  CommandNotInvokableError,
  type DenopodError,
  RuntimeError,
} from "../errors.ts";

/** runc's words for a command that is not there: not on PATH, or (runc 1.1) a failed `stat`. */
const COMMAND_NOT_FOUND =
  /executable file not found|exec: "[^"]*": (stat [^:]*: )?no such file or directory/;

const LOGRUS_LINE = /level=(error|fatal|panic) msg="((?:[^"\\]|\\.)*)"/;

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Extracts runc's error message from its stderr or its `--log` file: the last error-level log
 * entry (JSON or logrus text), else the last non-empty line, else null.
 */
export function runcErrorMessage(output: string): string | null {
  let found: string | null = null;
  let lastLine: string | null = null;
  for (const raw of output.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    lastLine = line;
    if (line.startsWith("{")) {
      try {
        const entry = JSON.parse(line) as { level?: unknown; msg?: unknown };
        if (
          typeof entry.msg === "string" &&
          (entry.level === "error" || entry.level === "fatal" || entry.level === "panic")
        ) {
          found = entry.msg;
        }
        continue;
      } catch {
        // not JSON after all; fall through to the other forms
      }
    }
    const m = LOGRUS_LINE.exec(line);
    if (m) {
      try {
        found = JSON.parse(`"${m[2]}"`) as string;
      } catch {
        found = m[2];
      }
    }
  }
  const message = found ?? lastLine;
  return message === null ? null : oneLine(message);
}

/**
 * Builds the error for a failed runc `verb`. For `create` and `exec`, a command that is not
 * found becomes {@linkcode CommandNotFoundError} (exit 127) and one that cannot be executed
 * {@linkcode CommandNotInvokableError} (exit 126), as podman reports them; anything else is a
 * {@linkcode RuntimeError}.
 */
export function runtimeErrorFor(verb: string, message: string, cause?: unknown): DenopodError {
  const text = `runc ${verb}: ${oneLine(message)}`;
  const options = cause === undefined ? undefined : { cause };
  if (verb === "create" || verb === "exec") {
    if (COMMAND_NOT_FOUND.test(message)) {
      return new CommandNotFoundError(text, options);
    }
    if (/exec: "[^"]*": permission denied/.test(message)) {
      return new CommandNotInvokableError(text, options);
    }
  }
  return new RuntimeError(text, options);
}
