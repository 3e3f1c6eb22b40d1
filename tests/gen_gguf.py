#!/usr/bin/env python3
"""GGUF files for stcheck's tests, written with the standard library only (struct).

    gen_gguf.py corpus DIR            the committed samples of corpus/gguf (valid-*, ST7xx-*)
    gen_gguf.py e2e STCHECK DIR       writes every case to DIR and checks stcheck's exact ids,
                                      verdict and JSON fields on each
    gen_gguf.py templates DIR         the chat templates of the tests as .jinja files

The layout follows ggml's gguf.cpp (gguf_write_to_buf): magic, version, tensor count, key
count, key/values, tensor infos, padding to the alignment, data with each tensor padded.
Templates here are written for these tests in the shapes real models use (Llama 3, ChatML,
Gemma, Mistral, Qwen with namespace(), Phi); none is copied from a model repository.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<B",
       U64: "<Q", I64: "<q", F64: "<d"}
# ggml type id -> (block size, bytes per block), ggml d99724f2
GGML = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
        9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176),
        14: (256, 210), 15: (256, 292), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
        28: (1, 8), 30: (1, 2), 39: (32, 17)}


def pad(n, a):
    return (n + a - 1) // a * a


class W:
    """A GGUF writer: kv(key, type, value) and tensor(name, dims, type) then build()."""

    def __init__(self, version=3, alignment=None):
        self.version = version
        self.kvs = []
        self.tensors = []
        self.alignment = alignment or 32
        if alignment is not None:
            self.kv("general.alignment", U32, alignment)

    def ln(self, n):
        return struct.pack("<I" if self.version == 1 else "<Q", n)

    def s(self, b):
        b = b.encode() if isinstance(b, str) else b
        return self.ln(len(b)) + b

    def value(self, t, v):
        if t == STRING:
            return self.s(v)
        if t == ARRAY:
            et, items = v
            out = struct.pack("<I", et) + self.ln(len(items))
            return out + b"".join(self.value(et, x) for x in items)
        return struct.pack(FMT[t], v)

    def kv(self, key, t, v, raw=None):
        self.kvs.append(self.s(key) + struct.pack("<I", t) + (raw if raw is not None
                                                              else self.value(t, v)))
        return self

    def tensor(self, name, dims, t=0, data=None, offset=None, raw_dims=None):
        self.tensors.append(dict(name=name, dims=dims, type=t, data=data, offset=offset,
                                 raw_dims=raw_dims))
        return self

    @staticmethod
    def nbytes(dims, t):
        blck, size = GGML[t]
        n = 1
        for d in dims:
            n *= d
        return n // blck * size

    def build(self, tail=b"", pad_byte=b"\0", counts=None):
        out = b"GGUF" + struct.pack("<I", self.version)
        nt, nk = counts or (len(self.tensors), len(self.kvs))
        out += self.ln(nt) + self.ln(nk)
        out += b"".join(self.kvs)
        off = 0
        datas = []
        for t in self.tensors:
            nb = self.nbytes(t["dims"], t["type"]) if t["type"] in GGML else 0
            o = t["offset"] if t["offset"] is not None else off
            out += self.s(t["name"]) + struct.pack("<I", len(t["dims"]))
            dims = t["raw_dims"] if t["raw_dims"] is not None else t["dims"]
            out += b"".join(self.ln(d) if self.version == 1 else struct.pack("<Q", d)
                            for d in dims)
            out += struct.pack("<I", t["type"]) + struct.pack("<Q", o)
            data = t["data"] if t["data"] is not None else b"\0" * nb
            datas.append(data + pad_byte * (pad(len(data), self.alignment) - len(data)))
            off += pad(nb, self.alignment)
        if self.tensors:
            out += pad_byte * (pad(len(out), self.alignment) - len(out))
        return out + b"".join(datas) + tail


# ---- chat templates written for the tests --------------------------------------------------
T_LLAMA3 = (
    "{{- bos_token }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' }}"
    "{{- message['content'] | trim }}{{- '<|eot_id|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}")
T_CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
T_GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant') }}"
    "{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}")
T_MISTRAL = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}")
T_QWEN = (
    "{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}"
    "{%- for message in messages[::-1] %}"
    "{%- set index = (messages|length - 1) - loop.index0 %}"
    "{%- if ns.multi_step_tool and message.role == 'user' and message.content is string %}"
    "{%- set ns.multi_step_tool = false %}{%- set ns.last_query_index = index %}"
    "{%- endif %}{%- endfor %}"
    "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- for tool in tools %}"
    "{{- '\\n' }}{{- tool | tojson }}{%- endfor %}{{- '<|im_end|>\\n' }}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message.role == 'assistant' and message.tool_calls is defined %}"
    "{{- '<|im_start|>' + message.role }}"
    "{%- for tool_call in message.tool_calls %}{%- if tool_call.function is defined %}"
    "{%- set tool_call = tool_call.function %}{%- endif %}"
    "{{- '\\n<tool_call>\\n{\"name\": \"' }}{{- tool_call.name }}{{- '\", \"arguments\": ' }}"
    "{{- tool_call.arguments | tojson }}{{- '}\\n</tool_call>' }}{%- endfor %}"
    "{{- '<|im_end|>\\n' }}"
    "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + message.content.strip() + "
    "'<|im_end|>' + '\\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}")
T_PHI = (
    "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}")
GOOD_TEMPLATES = {"llama3": T_LLAMA3, "chatml": T_CHATML, "gemma": T_GEMMA,
                  "mistral": T_MISTRAL, "qwen": T_QWEN, "phi": T_PHI}

# Published sandbox-escape shapes (each must be ST741)
BAD_TEMPLATES = {
    "dunder-chain": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "attr-filter": "{{ ''|attr('__class__') }}",
    "attr-filter-hex": "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "format-filter": "{% set x = '%c%c%s'|format(95, 95, 'class') %}",
    "cycler-walk": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner-walk": "{{ joiner.__init__.__globals__ }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('id') }}",
    "self-context": "{{ self._TemplateReference__context }}",
    "getitem-dunder": "{{ messages['__class__'] }}",
    "computed-key": "{% set k = '_' ~ '_class_' ~ '_' %}{{ messages[k] }}",
    "join-key": "{{ messages[['_', '_class__']|join] }}",
    "map-attribute": "{{ messages|map(attribute='__class__')|list }}",
    "import": "{% import 'os' as os %}",
    "include": "{% include '/etc/passwd' %}",
    "str-format-method": "{{ '{0.__class__}'.format(messages) }}",
    "namespace-kwarg-dunder": "{{ namespace(__init__=1) }}",
}


def base(w=None, arch="llama", template=None, n_tokens=4):
    w = w or W()
    w.kv("general.architecture", STRING, arch)
    w.kv("general.name", STRING, "test model")
    w.kv(arch + ".block_count", U32, 2)
    w.kv(arch + ".context_length", U32, 128)
    toks = ["<s>", "</s>", "a", "b"][:n_tokens] + ["t%d" % i for i in range(n_tokens - 4)]
    w.kv("tokenizer.ggml.model", STRING, "llama")
    w.kv("tokenizer.ggml.tokens", ARRAY, (STRING, toks))
    w.kv("tokenizer.ggml.scores", ARRAY, (F32, [0.0] * n_tokens))
    w.kv("tokenizer.ggml.token_type", ARRAY, (I32, [1] * n_tokens))
    w.kv("tokenizer.ggml.bos_token_id", U32, 0)
    w.kv("tokenizer.ggml.eos_token_id", U32, 1)
    if template is not None:
        w.kv("tokenizer.chat_template", STRING, template)
    return w


def valid(template=None, version=3, alignment=None):
    w = base(W(version, alignment), template=template)
    w.tensor("token_embd.weight", [8, 4], 0)
    w.tensor("blk.0.attn_q.weight", [32, 2], 8)
    w.tensor("output_norm.weight", [8], 1)
    return w


def cases():
    """(name, bytes, expected ids, expected verdict)"""
    c = []
    add = lambda name, data, ids, verdict: c.append((name, data, ids, verdict))
    add("valid-basic.gguf", valid().build(), "", "pass")
    add("valid-v2.gguf", valid(version=2).build(), "", "pass")
    add("valid-align64.gguf", valid(alignment=64).build(), "", "pass")
    for k, t in GOOD_TEMPLATES.items():
        add("valid-template-%s.gguf" % k, valid(template=t).build(), "", "pass")
    for k, t in BAD_TEMPLATES.items():
        add("ST741-template-%s.gguf" % k, valid(template=t).build(), "ST741", "fail")
    add("ST742-template-text.gguf",
        valid(template="{{ 'You are a helpful assistant.' }}{{ messages[0]['content'] }}").build(),
        "ST742", "pass")
    add("ST743-template-url.gguf",
        valid(template="{{ 'See https://example.invalid/x' }}").build(), "ST743", "pass")
    add("ST740-template-syntax.gguf", valid(template="{% if x %}{{ y }}").build(), "ST740",
        "fail")
    w = valid(version=1)
    add("ST703-v1.gguf", w.build(), "ST703", "pass")
    add("ST701-version-4.gguf", b"GGUF" + struct.pack("<I", 4) + b"\0" * 16, "ST701",
        "could not check")
    add("ST702-big-endian.gguf", b"GGUF" + struct.pack(">I", 3) + b"\0" * 16, "ST702",
        "could not check")
    add("ST704-truncated.gguf", valid().build()[:100], "ST704", "fail")
    add("ST704-absurd-count.gguf", b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 1), "ST704",
        "fail")
    w = valid()
    w.kv("bad\0key", U32, 1)
    add("ST706-key-nul.gguf", w.build(), "ST706", "fail")
    w = valid()
    w.kv("Bad.Key", U32, 1)
    add("ST707-key-grammar.gguf", w.build(), "ST707", "pass")
    w = valid()
    w.kv("general.name", STRING, "again")
    add("ST708-key-duplicate.gguf", w.build(), "ST708", "fail")
    w = valid()
    w.kv("general.thing", 13, None, raw=b"")
    add("ST709-value-type.gguf", w.build(), "ST709", "fail")
    w = valid()
    w.kv("llama.use_parallel_residual", BOOL, 2)
    add("ST710-bool.gguf", w.build(), "ST710", "fail")
    w = valid()
    w.kv("general.description", STRING, b"\xff\xfe")
    add("ST711-utf8.gguf", w.build(), "ST711", "fail")
    w = valid()
    w.kv("general.nested", ARRAY, (ARRAY, [(U8, [1, 2])]))
    add("ST712-nested.gguf", w.build(), "ST712", "pass")
    w = valid(alignment=48)
    add("ST713-alignment.gguf", w.build(), "ST713", "fail")
    w = base()
    w.tensor("x" * 64, [8], 0)
    add("ST714-name-long.gguf", w.build(), "ST714", "fail")
    w = base()
    w.tensor("a", [8], 0).tensor("a", [8], 0)
    add("ST715-tensor-dup.gguf", w.build(), "ST715", "fail")
    w = base()
    w.tensor("a\0x", [8], 0).tensor("a\0y", [8], 0)
    add("ST715-tensor-dup-nul.gguf", w.build(), "ST714,ST715", "fail")
    w = base()
    w.tensor("a", [1, 1, 1, 1, 1], 0)
    add("ST716-dims.gguf", w.build(), "ST716", "fail")
    w = base()
    w.tensor("a", [8], 4)
    add("ST717-type-removed.gguf", w.build(), "ST717", "fail")
    w = base()
    w.tensor("a", [16], 8)
    add("ST718-block.gguf", w.build(), "ST718", "fail")
    w = base()
    w.tensor("a", [8], 0).tensor("b", [8], 0, offset=0)
    add("ST719-overlap.gguf", w.build(), "ST719", "fail")
    w = base()
    w.tensor("a", [8], 0)
    add("ST720-outside.gguf", w.build()[:-8], "ST720", "fail")
    w = base()
    w.tensor("a", [4], 0)
    add("ST721-padding.gguf", w.build(pad_byte=b"\x01"), "ST721", "fail")
    add("ST722-trailing.gguf", valid().build(tail=b"extra bytes"), "ST722", "pass")
    add("ST723-polyglot-zip.gguf", valid().build(tail=b"PK\x03\x04" + b"\0" * 26), "ST723",
        "fail")
    add("ST724-vocab-only.gguf", base().build(), "ST724", "pass")
    w = valid()
    w.kv("general.file_type", STRING, "q4")
    add("ST730-key-type.gguf", w.build(), "ST730", "fail")
    w = base(arch="Llama!")
    w.tensor("a", [8], 0)
    add("ST731-arch.gguf", w.build(), "ST707,ST731", "fail")
    w = W()
    w.tensor("a", [8], 0)
    add("ST732-no-arch.gguf", w.build(), "ST732", "pass")
    w = valid()
    w.kv("qwen2.block_count", U32, 2)
    add("ST733-namespace.gguf", w.build(), "ST733", "pass")
    w = base(W())
    w.kv("llama.attention.head_count", ARRAY, (U32, [4, 4, 4]))
    w.tensor("a", [8], 0)
    add("ST734-per-layer.gguf", w.build(), "ST734", "fail")
    # layer counts and per-layer arrays against llama.block_count 2 (llama-model.cpp)
    w = valid()
    w.kv("llama.leading_dense_block_count", U32, 2)
    w.kv("llama.nextn_predict_layers", U32, 1)
    w.kv("llama.attention.shared_kv_layers", U32, 1)
    w.kv("llama.attention.sliding_window_pattern", ARRAY, (BOOL, [1, 0]))
    add("valid-layer-counts.gguf", w.build(), "", "pass")
    w = valid()
    w.kv("llama.nextn_predict_layers", U32, 2)
    add("ST734-nextn-layers.gguf", w.build(), "ST734", "fail")
    w = valid()
    w.kv("llama.attention.shared_kv_layers", U32, 3)
    add("ST734-shared-kv-layers.gguf", w.build(), "ST734", "fail")
    w = valid()
    w.kv("llama.attention.sliding_window_pattern", ARRAY, (BOOL, [1, 0, 1]))
    add("ST734-swa-pattern.gguf", w.build(), "ST734", "fail")
    # layer index arrays of a multimodal projector (llama.cpp tools/mtmd) against its 2 blocks
    w = base(arch="clip")
    w.kv("clip.vision.block_count", U32, 2)
    w.kv("clip.vision.feature_layer", ARRAY, (I32, [0, 2]))
    w.kv("clip.vision.wa_layer_indexes", ARRAY, (I32, [1]))
    w.tensor("v.blk.0.attn_q.weight", [8], 0)
    add("valid-mmproj-layers.gguf", w.build(), "", "pass")
    w = base(arch="clip")
    w.kv("clip.vision.block_count", U32, 2)
    w.kv("clip.vision.feature_layer", ARRAY, (I32, [1, 3]))
    w.tensor("v.blk.0.attn_q.weight", [8], 0)
    add("ST734-feature-layer.gguf", w.build(), "ST734", "fail")
    w = base(W())
    w.kv("tokenizer.ggml.padding_token_id", U32, 99)
    w.tensor("a", [8], 0)
    add("ST735-token-id.gguf", w.build(), "ST735", "fail")
    w = valid()
    w.kv("tokenizer.ggml.merges", ARRAY, (STRING, ["a b", "ab"]))
    add("ST735-merge.gguf", w.build(), "ST735", "fail")
    w = valid()
    w.kv("split.no", U16, 2).kv("split.count", U16, 2)
    add("ST736-split.gguf", w.build(), "ST736", "fail")
    return c


# ---- the allowlist: docs/formats/gguf.md's table is jinja.c's lists, and every name passes -------

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
KINDS = {"statements": "statements", "filters": "filters", "tests": "tests",
         "globals (called)": "globals", "methods": "methods"}


def allowlists():
    """{kind: (names in the docs table, names in jinja.c's array)}"""
    import re
    docs = open(os.path.join(SRC, "docs", "formats", "gguf.md"), encoding="utf-8").read()
    code = open(os.path.join(SRC, "src", "formats", "gguf", "jinja.c"), encoding="utf-8").read()
    out = {}
    for row, arr in KINDS.items():
        m = re.search(r"^\| %s \| `([^`]*)`" % re.escape(row), docs, re.M)
        c = re.search(r"static const char \*const %s\[\] = \{(.*?)\};" % arr, code, re.S)
        if not m or not c:
            raise SystemExit("gen_gguf: no %s list in the docs or jinja.c" % row)
        out[arr] = (set(m.group(1).split()), set(re.findall(r'"([^"]*)"', c.group(1))))
    return out


def allowlist_templates(lists):
    """One template using every filter, test, global and method the docs list (it must pass), and
    one name per kind that is not listed (each must be ST741)."""
    use = {"filters": "{{ x | %s }}", "tests": "{{ x is %s }}", "globals": "{{ %s() }}",
           "methods": "{{ x.%s() }}"}
    args = {"in": "{{ x is in y }}", "sameas": "{{ x is sameas y }}",
            "divisibleby": "{{ x is divisibleby 3 }}", "equalto": "{{ x is equalto 1 }}",
            "caller": "{% macro m() %}{{ caller() }}{% endmacro %}"}
    good = "".join(args.get(n, use[k] % n) for k in use for n in sorted(lists[k][0]))
    bad = {k: use[k] % n for k, n in [("filters", "attr"), ("tests", "callable"),
                                       ("globals", "open"), ("methods", "pop")]}
    return good, bad


def write_corpus(folder):
    os.makedirs(folder, exist_ok=True)
    for name, data, _, _ in cases():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def e2e(stcheck, folder):
    os.makedirs(folder, exist_ok=True)
    failed = 0
    all_cases, paths = cases(), []
    for name, data, ids, verdict in all_cases:
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(data)
        paths.append(path)
    # One stcheck run for every case (a process costs ~1 s under CI's valgrind stage).
    docs = json.loads(subprocess.run([stcheck, "--format", "json", "--"] + paths,
                                     capture_output=True).stdout)["files"]
    if [d["path"] for d in docs] != paths:
        raise SystemExit("gen_gguf: the report lists %d files for %d cases"
                         % (len(docs), len(paths)))
    for (name, data, ids, verdict), doc in zip(all_cases, docs):
        got = ",".join(sorted({f["id"] for f in doc["findings"]}))
        if got != ids or doc["verdict"] != verdict:
            failed += 1
            print("FAIL %s: ids %r verdict %r, expected %r %r" % (name, got, doc["verdict"],
                                                                  ids, verdict))
            for f in doc["findings"]:
                print("   ", f["id"], f["message"])
    # the allowlist: docs table == jinja.c's arrays (statements: endraw is the raw block's end,
    # not a statement of its own); every listed name accepted, one unlisted per kind refused
    lists = allowlists()
    for kind, (docs_names, code_names) in lists.items():
        if docs_names - {"endraw"} != code_names:
            failed += 1
            print("FAIL %s: docs/formats/gguf.md and jinja.c differ: %s" % (
                kind, sorted(docs_names.symmetric_difference(code_names))))
    good, bad = allowlist_templates(lists)
    tpaths = []
    for name, t in [("all", good)] + sorted(bad.items()):
        tpaths.append(os.path.join(folder, "allowlist-%s.gguf" % name))
        with open(tpaths[-1], "wb") as f:
            f.write(valid(template=t).build())
    tdocs = json.loads(subprocess.run([stcheck, "--format", "json", "--"] + tpaths,
                                      capture_output=True).stdout)["files"]
    for p, doc in zip(tpaths, tdocs):
        ids = sorted({f["id"] for f in doc["findings"]})
        want = ["ST741"] if "-all" not in p else []
        if ids != want:
            failed += 1
            print("FAIL %s: ids %r, expected %r" % (os.path.basename(p), ids, want))
            for f in doc["findings"]:
                print("   ", f["id"], f["message"])
    # JSON fields of a file with a template
    path = os.path.join(folder, "valid-template-chatml.gguf")
    doc = json.loads(subprocess.run([stcheck, "--format", "json", path],
                                    capture_output=True).stdout)["files"][0]
    want = {"version": 3, "alignment": 32, "kv_count": 11, "tensor_count": 3,
            "architecture": "llama",
            "chat_template_sha256": hashlib.sha256(T_CHATML.encode()).hexdigest()}
    got = {k: doc["gguf"].get(k) for k in want}
    if got != want or doc["tensor_count"] != 3 or doc["format"] != "gguf":
        failed += 1
        print("FAIL json fields", got)
    print("%d cases, %d failed" % (len(cases()) + 1, failed))
    return 1 if failed else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "corpus":
        write_corpus(sys.argv[2])
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "e2e":
        return e2e(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 3 and sys.argv[1] == "templates":
        os.makedirs(sys.argv[2], exist_ok=True)
        for k, t in list(GOOD_TEMPLATES.items()) + list(BAD_TEMPLATES.items()):
            with open(os.path.join(sys.argv[2], k + ".jinja"), "w") as f:
                f.write(t)
        return 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
