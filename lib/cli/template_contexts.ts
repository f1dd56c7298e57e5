/**
 * How podman names each command's `--format` template and the Go types behind it, so that a bad
 * template's message reads as podman's (`template: ps:1:13: executing "ps" at <.Foo>: can't
 * evaluate field Foo in type containers.psReporter`): the template's name, the type of the data,
 * of the data's fields' values, and the 11 columns of `{{range .}}` podman puts before a list's
 * template. Checked against podman 4.3.1 on this machine.
 * @module
 */
import type { TemplateOptions } from "../util/template/parse.ts";

/** podman runs a list's `--format` inside `{{range .}}`: positions on line 1 are 11 further. */
const IN_RANGE = 11;

/** `ps --format`. */
export const PS_TEMPLATE: TemplateOptions = {
  name: "ps",
  typeName: "containers.psReporter",
  columnShift: IN_RANGE,
};

/** `images --format`. */
export const IMAGES_TEMPLATE: TemplateOptions = {
  name: "images",
  typeName: "images.imageReporter",
  columnShift: IN_RANGE,
};

/** `history --format`. */
export const HISTORY_TEMPLATE: TemplateOptions = {
  name: "history",
  typeName: "images.historyReporter",
  columnShift: IN_RANGE,
};

/** `inspect --format` of a container. */
export const CONTAINER_INSPECT_TEMPLATE: TemplateOptions = {
  name: "inspect",
  typeName: "interface {}",
  columnShift: IN_RANGE,
  fieldTypes: {
    State: "*define.InspectContainerState",
    Config: "*define.InspectContainerConfig",
    HostConfig: "*define.InspectContainerHostConfig",
    NetworkSettings: "*define.InspectNetworkSettings",
    GraphDriver: "*define.DriverData",
    Mounts: "[]define.InspectMount",
  },
};

/** `inspect --format` of an image. */
export const IMAGE_INSPECT_TEMPLATE: TemplateOptions = {
  name: "inspect",
  typeName: "interface {}",
  columnShift: IN_RANGE,
  fieldTypes: {
    Config: "*v1.ImageConfig",
    RootFS: "*inspect.RootFS",
    GraphDriver: "*define.DriverData",
  },
};

/** `info --format`. */
export const INFO_TEMPLATE: TemplateOptions = {
  name: "info",
  typeName: "*define.Info",
  fieldTypes: {
    Host: "*define.HostInfo",
    Store: "*define.StoreInfo",
    Version: "define.Version",
    Plugins: "define.Plugins",
  },
};

/** `version --format`. */
export const VERSION_TEMPLATE: TemplateOptions = {
  name: "version",
  typeName: "*define.Version",
  fieldTypes: { Client: "*define.Version" },
};

/** What podman puts before an `inspect` template's error. */
export const INSPECT_ERROR_PREFIX = "inspecting object: printing inspect output: ";
