/**
 * The Go-template subset behind `--format`, and podman's table handling: expected outputs are
 * what podman 4.3 printed on this machine for the same formats (`ps -a --format …`).
 */
import assert from "node:assert/strict";
import { InvalidArgError } from "../lib/errors.ts";
import {
  formatColumns,
  formatGoValue,
  formatTable,
  goJson,
  goSprintf,
  headerFromField,
  normalizeFormat,
  renderTemplate,
} from "../lib/util/template.ts";
import { alignColumns } from "../lib/util/tabwriter.ts";

const ROWS = [
  {
    ID: "d8668b5b8ff4",
    Image: "localhost/fixture:2",
    Command: "sleep 100",
    CreatedHuman: "Less than a second ago",
    Status: "Created",
    Ports: "",
    Names: "c1",
    State: "created",
  },
  {
    ID: "8c97971dcfae",
    Image: "localhost/fixture:2",
    Command: "sleep 100",
    CreatedHuman: "Less than a second ago",
    Status: "Up 1 second ago",
    Ports: "",
    Names: "c2",
    State: "running",
  },
  {
    ID: "8623b52858e8",
    Image: "localhost/fixture:2",
    Command: "sh -c exit 3",
    CreatedHuman: "Less than a second ago",
    Status: "Exited (3) 1 second ago",
    Ports: "",
    Names: "c3",
    State: "exited",
  },
];
const PS_HEADERS = { ID: "CONTAINER ID", CreatedHuman: "CREATED" };

function rejects(template: string, data: unknown, message: string | RegExp) {
  assert.throws(
    () => renderTemplate(template, data, { name: "ps", typeName: "psReporter" }),
    (err: unknown) =>
      err instanceof InvalidArgError &&
      (typeof message === "string" ? err.message === message : message.test(err.message)),
  );
}

Deno.test("podman's default ps table, byte for byte", () => {
  const format =
    "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.CreatedHuman}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}";
  assert.equal(
    formatTable(format, ROWS, PS_HEADERS),
    [
      "CONTAINER ID  IMAGE                COMMAND       CREATED                 STATUS                   PORTS       NAMES",
      "d8668b5b8ff4  localhost/fixture:2  sleep 100     Less than a second ago  Created                              c1",
      "8c97971dcfae  localhost/fixture:2  sleep 100     Less than a second ago  Up 1 second ago                      c2",
      "8623b52858e8  localhost/fixture:2  sh -c exit 3  Less than a second ago  Exited (3) 1 second ago              c3",
      "",
    ].join("\n"),
  );
});

Deno.test("table with a header override and min-width columns", () => {
  assert.equal(
    formatTable("table {{.ID}}\\t{{.Names}}\\t{{.Status}}", ROWS, PS_HEADERS),
    "CONTAINER ID  NAMES       STATUS\nd8668b5b8ff4  c1          Created\n" +
      "8c97971dcfae  c2          Up 1 second ago\n8623b52858e8  c3          Exited (3) 1 second ago\n",
  );
});

Deno.test("table turns spaces into column breaks and names headers from the field", () => {
  const rows = [{ Names: "c1", CreatedAt: "2026-11-29 01:56:34 +0000 UTC", Command: "sleep 100" }];
  assert.equal(
    formatTable("table {{.Names}} {{.CreatedAt}} {{.Command}}", rows),
    "NAMES       CREATED AT                     COMMAND\n" +
      "c1          2026-11-29 01:56:34 +0000 UTC  sleep 100\n",
  );
});

Deno.test("without table: one line per row, escapes expanded, tabs left as tabs", () => {
  assert.equal(formatTable("{{.ID}}", ROWS), "d8668b5b8ff4\n8c97971dcfae\n8623b52858e8\n");
  assert.equal(formatTable("{{.Names}}\\t{{.State}}", ROWS.slice(0, 1)), "c1\tcreated\n");
  assert.equal(formatTable("{{.Names}}\\n", ROWS.slice(0, 2)), "c1\nc2\n");
  assert.equal(formatTable("{{.Names}}", []), "");
});

Deno.test("fields, nested fields and literal text", () => {
  const data = { Name: "web", State: { Status: "running", Pid: 42 } };
  assert.equal(
    renderTemplate("{{.Name}} is {{.State.Status}} ({{.State.Pid}})", data),
    "web is running (42)",
  );
  assert.equal(renderTemplate("plain", data), "plain");
  assert.equal(renderTemplate("{{with .State}}{{.Status}}{{end}}", data), "running");
  assert.equal(renderTemplate("{{$.Name}}", data), "web");
});

Deno.test("values print as Go prints them: maps, slices, nil, missing map keys", () => {
  const data = {
    Labels: { x: "y", a: "b" },
    Names: ["c1", "c2"],
    Mounts: [],
    Pod: null,
    Ports: new Map<string, string>([["80/tcp", "8080"]]),
  };
  assert.equal(renderTemplate("{{.Labels}}", data), "map[a:b x:y]");
  assert.equal(renderTemplate("{{.Names}}", data), "[c1 c2]");
  assert.equal(renderTemplate("{{.Mounts}}", data), "[]");
  assert.equal(renderTemplate("{{.Pod}}", data), "<nil>");
  assert.equal(renderTemplate("{{.Ports.nothere}}", data), "<no value>");
  assert.equal(renderTemplate('{{index .Labels "zz"}}', data), "<no value>");
  assert.equal(formatGoValue(3.5), "3.5");
  assert.equal(formatGoValue(true), "true");
});

Deno.test("json marshals like Go: compact, Map keys sorted, struct order kept", () => {
  const labels = new Map([["x", "y"], ["a", "b"], ["io.buildah.version", "1.28.2"]]);
  assert.equal(
    renderTemplate("{{json .Labels}}", { Labels: labels }),
    '{"a":"b","io.buildah.version":"1.28.2","x":"y"}',
  );
  assert.equal(
    renderTemplate("{{json .}}", { Id: "abc", Names: ["c1"], Exited: false, Size: null }),
    '{"Id":"abc","Names":["c1"],"Exited":false,"Size":null}',
  );
  assert.equal(goJson("<a&b>"), '"<a&b>"');
  assert.equal(goJson(new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 500))), '"2024-05-01T10:00:00.5Z"');
});

Deno.test("index, lower, upper, join, title, printf, len", () => {
  const data = { Labels: { "org.example.app": "Web" }, Names: ["c1", "c2"], ID: "abcdef" };
  assert.equal(renderTemplate('{{index .Labels "org.example.app"}}', data), "Web");
  assert.equal(renderTemplate('{{lower (index .Labels "org.example.app")}}', data), "web");
  assert.equal(renderTemplate("{{upper .ID}}", data), "ABCDEF");
  assert.equal(renderTemplate('{{join .Names ","}}', data), "c1,c2");
  assert.equal(renderTemplate("{{.ID | upper | lower}}", data), "abcdef");
  assert.equal(renderTemplate('{{title "hello world"}}', data), "Hello World");
  assert.equal(renderTemplate("{{len .Names}}", data), "2");
  assert.equal(renderTemplate('{{printf "%-4s|%3d|%q" "ab" 7 "x"}}', data), 'ab  |  7|"x"');
  assert.equal(goSprintf("%05d %x %%", [42, 255]), "00042 ff %");
  assert.equal(renderTemplate('{{print 1 2 "a" 3}}', data), "1 2a3");
});

Deno.test("if / else if / else, range with variables and else, comparisons", () => {
  const data = {
    N: 3,
    Names: ["a", "b"],
    Empty: [] as string[],
    M: new Map([["k2", 2], ["k1", 1]]),
  };
  const cond = "{{if eq .N 1}}one{{else if gt .N 2}}big{{else}}small{{end}}";
  assert.equal(renderTemplate(cond, data), "big");
  assert.equal(renderTemplate("{{range $i, $v := .Names}}{{$i}}={{$v}};{{end}}", data), "0=a;1=b;");
  assert.equal(renderTemplate("{{range .Empty}}x{{else}}none{{end}}", data), "none");
  assert.equal(renderTemplate("{{range $k, $v := .M}}{{$k}}:{{$v}} {{end}}", data), "k1:1 k2:2 ");
  assert.equal(renderTemplate("{{if and .N (not .Empty)}}yes{{end}}", data), "yes");
  assert.equal(renderTemplate('{{or .Empty "fallback"}}', data), "fallback");
  assert.equal(renderTemplate("{{$x := .N}}{{$x = 7}}{{$x}}", data), "7");
});

Deno.test("trim markers and comments", () => {
  assert.equal(renderTemplate("a  {{- .X -}}  \n b", { X: 1 }), "a1b");
  assert.equal(renderTemplate("a{{/* note */}}b", {}), "ab");
  assert.equal(renderTemplate("{{- /* note */ -}} x", {}), "x");
});

Deno.test("an unknown field fails like podman: can't evaluate field", () => {
  rejects(
    "{{.Foo}}",
    ROWS[0],
    'template: ps:1:2: executing "ps" at <.Foo>: can\'t evaluate field Foo in type psReporter',
  );
  rejects(
    "x{{.ID.Foo}}",
    ROWS[0],
    /executing "ps" at <\.ID\.Foo>: can't evaluate field Foo in type string/,
  );
  rejects("{{.Foo}}", null, /nil pointer evaluating interface \{\}\.Foo/);
});

Deno.test("syntax errors and unknown functions are InvalidArgError with a position", () => {
  rejects("{{.ID", {}, "template: ps:1:0: unclosed action");
  rejects("{{if .N}}x", {}, /unexpected EOF/);
  rejects("{{nope .ID}}", {}, 'template: ps:1:2: function "nope" not defined');
  rejects("line1\n{{end}}", {}, /template: ps:2:/);
  rejects("{{index .Names 5}}", { Names: ["a"] }, /index out of range: 5/);
  rejects("{{.ID 1}}", { ID: "x" }, /ID is not a method but has arguments/);
});

Deno.test("class getters and methods are fields, as Go methods are", () => {
  class Row {
    constructor(readonly id: string) {}
    get Short() {
      return this.id.slice(0, 3);
    }
    Upper(suffix: string) {
      return this.id.toUpperCase() + suffix;
    }
  }
  assert.equal(renderTemplate('{{.Short}} {{.Upper "!"}}', new Row("abcdef")), "abc ABCDEF!");
  rejects("{{.constructor}}", new Row("x"), /can't evaluate field constructor/);
  rejects("{{.toString}}", {}, /can't evaluate field toString/);
});

Deno.test("normalizeFormat and headerFromField follow podman's report package", () => {
  assert.equal(normalizeFormat("table {{.ID}} {{.Names}}"), "{{.ID}}\t{{.Names}}\n");
  assert.equal(normalizeFormat("{{.ID}}\\t{{.Names}}"), "{{.ID}}\t{{.Names}}\n");
  assert.equal(normalizeFormat("{{.ID}}\n"), "{{.ID}}\n");
  const cases: [string, string][] = [
    ["ID", "ID"],
    ["Names", "NAMES"],
    ["CreatedAt", "CREATED AT"],
    ["ImageID", "IMAGE ID"],
    ["IDName", "ID NAME"],
    ["RunningFor", "RUNNING FOR"],
  ];
  for (const [field, header] of cases) assert.equal(headerFromField(field), header);
});

Deno.test("alignColumns is Go's tabwriter with podman's settings", () => {
  // The expectation is containers/common's own formatter test, run through Go's tabwriter.
  assert.equal(
    alignColumns(
      "Value\tIdent\nIdentity\tID\nValue\tIdent\nc061a0839e\tIDf10fc2e11057\tID1eb6fab5aa8f4b5cbfd3e66aa35e9b2a\tID\n",
    ),
    "Value       Ident\nIdentity    ID\nValue       Ident\nc061a0839e  IDf10fc2e11057  ID1eb6fab5aa8f4b5cbfd3e66aa35e9b2a  ID\n",
  );
  assert.equal(
    formatColumns([["IMAGE ID", "SIZE"], ["dc217c97961a", "2.14MB"], ["é", "1B"]]),
    "IMAGE ID      SIZE\ndc217c97961a  2.14MB\né             1B\n",
  );
  assert.equal(formatColumns([]), "");
});

Deno.test("a failing field chain is placed as Go places it (its second field); names as given", () => {
  const options = { name: "ps", typeName: "containers.psReporter", columnShift: 11 };
  assert.throws(
    () => renderTemplate("{{.A.B.C}}", { A: { B: {} } }, options),
    (err: Error) =>
      err.message ===
        `template: ps:1:15: executing "ps" at <.A.B.C>: can't evaluate field C in type struct`,
  );
  assert.throws(
    () => renderTemplate("{{.Foo}}", {}, options),
    (err: Error) =>
      err.message ===
        `template: ps:1:13: executing "ps" at <.Foo>: can't evaluate field Foo in type containers.psReporter`,
  );
  assert.throws(
    () => renderTemplate("{{.State.Foo}}", { State: {} }, { fieldTypes: { State: "*T" } }),
    (err: Error) => err.message.endsWith("can't evaluate field Foo in type *T"),
  );
});
