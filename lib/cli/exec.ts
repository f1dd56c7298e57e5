/**
 * `exec`: runs a command in a running container. Without `-t`, runc's stdio is the caller's
 * stdout and stderr, and stdin only with `-i` (otherwise /dev/null: a `while read` loop around
 * `exec` keeps its lines). With `-t`, the process gets a terminal this process holds itself
 * (`lib/oci/exec_terminal.ts`): the caller's terminal goes raw with `-i`, its size is set before
 * the process starts and follows SIGWINCH, input goes to the terminal (end of input as the
 * terminal's EOF character) and output to stdout. `-d` starts it and returns at once. The exit
 * status is the process's.
 * @module
 */
import type { Runtime } from "../runtime.ts";
import type { Container } from "../container/container.ts";
import type { TerminalExec } from "../oci/exec_terminal.ts";
import { parseDetachKeys } from "../util/detach_keys.ts";
import { closeFd, setNonBlocking, setWindowSize } from "../sys/socket.ts";
import { type RelayEnd, runRelay } from "../oci/relay_worker.ts";
import { CallerSession, callerTerminalSize } from "./terminal.ts";

/** The flags of `exec`. */
export interface ExecFlags {
  env: string[];
  workdir?: string;
  user?: string;
  interactive: boolean;
  tty: boolean;
  detach: boolean;
  detachKeys: string;
}

/** Runs `command` in the container `name`; returns the exit status to leave. */
export async function execInContainerCli(
  runtime: Runtime,
  name: string,
  command: string[],
  flags: ExecFlags,
  onExec: (ctr: Container) => void = () => {},
): Promise<number> {
  const detachKeys = parseDetachKeys(flags.detachKeys);
  const { execInContainer, startTerminalExecIn } = await import(
    "../container/lifecycle/exec.ts"
  );
  const ctr = runtime.lookupContainer(name);
  onExec(ctr);
  const options = {
    command,
    env: flags.env,
    workdir: flags.workdir,
    user: flags.user,
    stdin: flags.interactive,
    detach: flags.detach,
  };
  if (flags.tty && !flags.detach) {
    const exec = await startTerminalExecIn(ctr, options, callerTerminalSize());
    return await relayTerminal(exec, flags.interactive, detachKeys);
  }
  const result = await execInContainer(ctr, options, "inherit");
  return flags.detach ? 0 : result.exitCode;
}

/**
 * Relays an exec's terminal: its output to stdout, the caller's input (with -i, through the
 * detach keys; its end as the EOF character) to it; the caller's terminal raw meanwhile.
 */
async function relayTerminal(
  exec: TerminalExec,
  interactive: boolean,
  detachKeys: Uint8Array,
): Promise<number> {
  const master = exec.master;
  setNonBlocking(master);
  const session = CallerSession.begin({
    raw: interactive,
    onResize: (size) => {
      try {
        setWindowSize(master, size);
      } catch {
        // the process is gone
      }
    },
  });
  let end: RelayEnd;
  try {
    end = await runRelay({
      fd: master,
      kind: "pty",
      input: interactive,
      detachKeys: [...detachKeys],
      eofByte: 0x04,
    });
  } finally {
    session.end();
  }
  if (end === "detached") {
    // the process keeps its terminal only while this process holds the master (podman's
    // detached exec sessions live on under conmon)
    return 0;
  }
  const code = await exec.wait();
  closeFd(master);
  return code;
}
