// EXPERIMENT (i15-tlsf2, 2026-12-07; removed in the next commit, kept in history): expands the calls of the
// named TLSF's functions inside HeapAllocator.allocate/deallocate of a bundle built from 33ad815, so V8 sees one
// function per entry. Measured in docs/perf-log.md ('The heap's TLSF with names, fitted to V8's inliner').
// Then: sed 's/\([^.a-zA-Z_$]\)clz32(/\1Math.clz32(/g; s/& SL_MASK)/\& 31)/g' on the output (v3y).
// Prototype: expand calls of the bundle's TLSF functions inside HeapAllocator.allocate / deallocate,
// so V8 sees one function per entry (as with the hand-inlined source). Usage: node expand.mjs in.js out.js
import { readFileSync, writeFileSync } from "node:fs";
import { parseAst } from "/work/wt/tlsf2/node_modules/rolldown/dist/parse-ast-index.mjs";

const [, , input, output] = process.argv;
const src = readFileSync(input, "utf8");
const prog = parseAst(src);
const INLINE = new Set(["blockSizeFor", "largeClassOf", "classOf", "fitClassOf", "searchClass", "classEmptied", "insertBlock", "removeBlock", "takeHead", "markStart", "isStart", "clearStart", "prepareBlock", "freeBlock", "bitmapBias"]);
const fns = new Map();
for (const node of prog.body) {
  if (node.type !== "VariableDeclaration" || node.kind !== "const") continue;
  for (const d of node.declarations) {
    if (d.id.type === "Identifier" && INLINE.has(d.id.name) && d.init?.type === "ArrowFunctionExpression") fns.set(d.id.name, { node: d.init, text: src });
  }
}
let counter = 0;

function walk(node, visit, parent = null, key = null) {
  if (!node || typeof node.type !== "string") return;
  if (visit(node, parent, key) === false) return;
  for (const k of Object.keys(node)) {
    if (k === "start" || k === "end" || k === "type") continue;
    const v = node[k];
    if (Array.isArray(v)) for (const c of v) walk(c, visit, node, k);
    else if (v && typeof v.type === "string") walk(v, visit, node, k);
  }
}

/** Text of `node` from `text` with edits [{start,end,text}] applied (edits inside node, non-overlapping). */
function splice(text, start, end, edits) {
  edits = edits.filter((e) => e.start >= start && e.end <= end).sort((a, b) => a.start - b.start);
  let out = "";
  let at = start;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + text.slice(at, end);
}

/** Inlinable calls in an expression, in evaluation order (arguments before the call), skipping conditional parts. */
function hoistableCalls(expr) {
  const calls = [];
  walk(expr, (n) => {
    if (n.type === "ConditionalExpression" || n.type === "LogicalExpression" || n.type.includes("Function")) return false;
    if (n.type === "CallExpression" && n.callee.type === "Identifier" && fns.has(n.callee.name)) {
      for (const a of n.arguments) for (const c of hoistableCalls(a)) calls.push(c);
      calls.push(n);
      return false;
    }
  });
  return calls;
}

/** Expands the call `call` (text `text`); argument texts are given. Returns [prelude statements, result expression]. */
function expandCall(call, argTexts) {
  const { node: fn, text } = fns.get(call.callee.name);
  const n = ++counter;
  const locals = new Set(fn.params.map((p) => p.name));
  walk(fn.body, (x) => {
    if (x.type === "VariableDeclarator" && x.id.type === "Identifier") locals.add(x.id.name);
  });
  const edits = [];
  const label = `$inl${n}`;
  const res = `$r${n}`;
  const returns = [];
  walk(fn.body, (x, parent, key) => {
    if (x.type === "Identifier" && locals.has(x.name)) {
      if (parent && parent.type === "MemberExpression" && key === "property" && !parent.computed) return;
      edits.push({ start: x.start, end: x.end, text: `${x.name}$${n}` });
    }
    if (x.type === "ReturnStatement") returns.push(x);
  });
  for (const x of returns) {
    const arg = x.argument ? `${res} = ${splice(text, x.argument.start, x.argument.end, edits)}; ` : "";
    for (let i = edits.length - 1; i >= 0; i--) if (edits[i].start >= x.start && edits[i].end <= x.end) edits.splice(i, 1);
    edits.push({ start: x.start, end: x.end, text: `{ ${arg}break ${label}; }` });
  }
  const params = fn.params.map((p, i) => `let ${p.name}$${n} = ${argTexts[i]};`).join(" ");
  let body;
  if (fn.body.type === "BlockStatement") body = splice(text, fn.body.start + 1, fn.body.end - 1, edits);
  else body = `${res} = ${splice(text, fn.body.start, fn.body.end, edits)};`;
  // Expand nested calls in the body too.
  body = expandBlockText(body);
  return [`let ${res}; ${label}: { ${params} ${body} }`, res];
}

/** Expands hoistable calls in every statement of a block's text. */
function expandBlockText(blockText) {
  const wrapper = `function $w() {${blockText}}`;
  const ast = parseAst(wrapper);
  const fnBody = ast.body[0].body;
  return expandStatements(wrapper, fnBody.body, fnBody.start + 1, fnBody.end - 1);
}

function expandStatements(text, stmts, start, end) {
  const edits = [];
  for (const s of stmts) {
    const out = expandStatement(text, s);
    if (out !== null) edits.push({ start: s.start, end: s.end, text: out });
  }
  return splice(text, start, end, edits);
}

/** The statement rewritten with its inlinable calls expanded before it, or null when it has none. */
function expandStatement(text, s) {
  // Blocks of control flow: expand inside them.
  if (s.type === "BlockStatement") return `{${expandStatements(text, s.body, s.start + 1, s.end - 1)}}`;
  if (s.type === "LabeledStatement") return null;
  let head = null; // the expression whose calls are hoisted
  const inner = []; // nested statements to process
  if (s.type === "ExpressionStatement") head = s.expression;
  else if (s.type === "VariableDeclaration" && s.declarations.length === 1) head = s.declarations[0].init;
  else if (s.type === "ReturnStatement") head = s.argument;
  else if (s.type === "IfStatement") {
    head = s.test;
    inner.push(s.consequent);
    if (s.alternate) inner.push(s.alternate);
  } else if (s.type === "ThrowStatement") head = null;
  const calls = head ? hoistableCalls(head) : [];
  if (calls.length === 0 && inner.length === 0) return null;
  const edits = [];
  const prelude = [];
  const replaced = new Map(); // call node -> text replacing it
  for (const c of calls) {
    const argTexts = c.arguments.map((a) => splice(text, a.start, a.end, edits));
    const [pre, res] = expandCall(c, argTexts);
    prelude.push(pre);
    // Remove edits nested in this call (its arguments went into the prelude).
    for (let i = edits.length - 1; i >= 0; i--) if (edits[i].start >= c.start && edits[i].end <= c.end) edits.splice(i, 1);
    edits.push({ start: c.start, end: c.end, text: res });
    replaced.set(c, res);
  }
  for (const st of inner) {
    const out = expandStatement(text, st);
    if (out !== null) edits.push({ start: st.start, end: st.end, text: st.type === "BlockStatement" ? out : `{ ${out} }` });
  }
  const rewritten = splice(text, s.start, s.end, edits);
  return prelude.length > 0 ? `${prelude.join("\n")}\n${rewritten}` : rewritten;
}

// Rewrite the two methods.
const edits = [];
walk(prog, (n) => {
  if (n.type === "MethodDefinition" && n.key.type === "Identifier" && (n.key.name === "allocate" || n.key.name === "deallocate")) {
    const body = n.value.body;
    if (!src.slice(body.start, body.end).includes("searchClass") && !src.slice(body.start, body.end).includes("freeBlock")) return false;
    edits.push({ start: body.start + 1, end: body.end - 1, text: expandStatements(src, body.body, body.start + 1, body.end - 1) });
    return false;
  }
});
writeFileSync(output, splice(src, 0, src.length, edits));
console.log(`expanded ${counter} calls in ${edits.length} methods`);
