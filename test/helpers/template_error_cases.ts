/**
 * Bad `--format` templates, command by command: podman 4.3.1's answers are recorded once into
 * `test/fixtures/podman/template_errors.json` (`record_template_errors.ts`) after {@linkcode
 * TEMPLATE_SCENARIO}; `test/template_errors_test.ts` runs denopod through the same and compares
 * the exit code and stderr (podman's template name, position and Go type names).
 * @module
 */

/** Placeholder for the busybox rootfs tarball. */
export const TAR = "<tar>";

/** What both tools run first: an image and a container. */
export const TEMPLATE_SCENARIO: readonly string[][] = [
  ["import", TAR, "busybox"],
  ["create", "--name", "c1", "busybox", "true"],
];

const COMMANDS: Record<string, string[]> = {
  ps: ["ps", "-a"],
  images: ["images"],
  "container inspect": ["inspect", "c1"],
  "image inspect": ["inspect", "busybox"],
  info: ["info"],
  version: ["version"],
  history: ["history", "busybox"],
};

/** Which templates each command is tried with. */
const TEMPLATES: Record<string, string[]> = {
  ps: ["{{.Foo}}", "{{.ID}}\\t{{.Foo}}", "{{.Names.Foo}}", "{{.Mounts.Foo}}", "{{.Foo.Bar}}"],
  images: ["{{.Foo}}", "{{.Names.Foo}}"],
  "container inspect": [
    "{{.Foo}}",
    "{{.State.Foo}}",
    "{{.Config.Foo}}",
    "{{.HostConfig.Foo}}",
    "{{.Mounts.Foo}}",
    "{{.State.Health.Status}}",
  ],
  "image inspect": ["{{.Foo}}", "{{.Config.Foo}}", "{{.RootFS.Foo}}"],
  info: ["{{.Foo}}", "{{.Host.Foo}}", "{{.Store.Foo}}"],
  version: ["{{.Foo}}"],
  history: ["{{.Foo}}", "{{.ID.Foo}}"],
};

/** One case: its name and arguments. */
export interface TemplateErrorCase {
  name: string;
  args: string[];
}

/** Every command with every template of its list. */
export const TEMPLATE_ERROR_CASES: readonly TemplateErrorCase[] = Object.entries(COMMANDS)
  .flatMap(([command, args]) =>
    TEMPLATES[command].map((template) => ({
      name: `${command} --format ${template}`,
      args: [...args, "--format", template],
    }))
  );
