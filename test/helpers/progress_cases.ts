/**
 * The copy commands' side-by-side table (`load`, `save`, `import`, `export`): one scenario on one
 * store, step by step, as both podman (recorded once into `test/fixtures/podman/progress.json` by
 * `record_progress.ts`) and denopod (`test/progress_test.ts`) run it, stdin and stderr pipes.
 * Placeholders in the arguments: {@linkcode FIXTURES} (the fixture archives' folder),
 * {@linkcode OUT} (a scratch folder), {@linkcode TAR} (a busybox rootfs tarball).
 * @module
 */

/** Placeholder for `test/fixtures/images`. */
export const FIXTURES = "<fixtures>";
/** Placeholder for a scratch folder. */
export const OUT = "<out>";
/** Placeholder for the busybox rootfs tarball. */
export const TAR = "<tar>";

/** One step: its arguments, a file fed on stdin, and whether its stdout is an archive. */
export interface ProgressCase {
  name: string;
  args: string[];
  stdinFile?: string;
  binaryStdout?: boolean;
}

/** The scenario, in order (each step sees what the earlier ones stored). */
export const PROGRESS_CASES: readonly ProgressCase[] = [
  { name: "load", args: ["load", "-i", `${FIXTURES}/fixture-docker-archive.tar`] },
  { name: "load again", args: ["load", "-i", `${FIXTURES}/fixture-docker-archive.tar`] },
  { name: "load -q", args: ["load", "-q", "-i", `${FIXTURES}/fixture-oci-archive.tar`] },
  { name: "load multi", args: ["load", "-i", `${FIXTURES}/fixture-multi-docker-archive.tar`] },
  { name: "load stdin oci", args: ["load"], stdinFile: `${FIXTURES}/fixture-oci-archive.tar` },
  { name: "save", args: ["save", "-o", `${OUT}/a.tar`, "localhost/fixture:2"] },
  { name: "save -q", args: ["save", "-q", "-o", `${OUT}/b.tar`, "localhost/fixture:2"] },
  {
    name: "save oci",
    args: ["save", "--format", "oci-archive", "-o", `${OUT}/c.tar`, "localhost/fixture-base:1"],
  },
  { name: "save to stdout", args: ["save", "localhost/fixture:2"], binaryStdout: true },
  { name: "import", args: ["import", TAR, "imp:1"] },
  { name: "import -q", args: ["import", "-q", TAR, "imp:2"] },
  { name: "import stdin", args: ["import", "-", "imp:3"], stdinFile: TAR },
  { name: "create", args: ["create", "--name", "c1", "imp:1", "/bin/true"] },
  { name: "export", args: ["export", "-o", `${OUT}/e.tar`, "c1"] },
];

/** What one step printed (stdout left out when it is an archive). */
export interface ProgressOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/** `args` with the placeholders replaced. */
export function fillIn(args: readonly string[], places: Record<string, string>): string[] {
  return args.map((arg) => {
    let out = arg;
    for (const [key, value] of Object.entries(places)) out = out.replaceAll(key, value);
    return out;
  });
}
