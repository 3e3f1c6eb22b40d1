// gguf_npm.js - reads each GGUF file named on the command line with @huggingface/gguf (the
// independent npm parser) and prints one JSON line per file: its tensor infos, key count and
// data offset, or the error it raised. Run by tests/gguf_npm.py with NODE_PATH set to the
// pinned copy it installed.
"use strict";
const { gguf } = require("@huggingface/gguf");

async function one(path) {
  try {
    const r = await gguf(path, { allowLocalFile: true });
    const kv = Object.keys(r.metadata).filter((k) => !["version", "tensor_count", "kv_count"].includes(k));
    return {
      path, ok: true, version: r.metadata.version, kv_count: Number(r.metadata.kv_count),
      keys: kv.length, data_offset: Number(r.tensorDataOffset),
      tensors: r.tensorInfos.map((t) => [t.name, t.shape.map(Number), t.dtype, Number(t.offset)]),
    };
  } catch (e) {
    return { path, ok: false, error: String(e && e.message ? e.message : e) };
  }
}

(async () => {
  for (const p of process.argv.slice(2)) process.stdout.write(JSON.stringify(await one(p)) + "\n");
})();
