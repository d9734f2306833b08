#!/usr/bin/env bash
# Builds src/worker/query-engine.wasm: QuickJS 2025-04-26 (Debian's source package, checked by
# its SHA-256), patched by quickjs-native-cost.patch, with sandbox.c as its interface.
# Needs Debian's emscripten (`apt-get install emscripten`, 3.1.6) and network access to
# deb.debian.org. Not part of the test run: the built .wasm is committed (README.md here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../src/worker/query-engine.wasm"
version=2025.04.26
tarball="quickjs_${version}.orig.tar.xz"
sha256=ec81da5b3249ed648dbc7df4a1654988910e66a118d9b71cb63534216efcfbbe
command -v emcc >/dev/null || { echo "emcc not found: apt-get install emscripten" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
curl -fsS -o "$work/$tarball" "https://deb.debian.org/debian/pool/main/q/quickjs/$tarball"
echo "$sha256  $work/$tarball" | sha256sum -c --quiet
tar xf "$work/$tarball" -C "$work"
src="$work/quickjs-$version"
patch -d "$src" -p1 --quiet < "$here/quickjs-native-cost.patch"

# A reactor (no main) that imports its memory, so the host sets the cap (MAX_QUERY_JS_MEMORY);
# the only other imports are host_call, host_charge and host_interrupt (sandbox.c) and a few
# WASI calls the C library makes (worker/js-engine.ts answers them).
# The prefix maps keep the temporary directory's name (in assert messages) out of the binary, so
# that the same sources build the same bytes.
emcc -O2 -ffile-prefix-map="$src"=quickjs -ffile-prefix-map="$here"=engine -D_GNU_SOURCE -DCONFIG_VERSION="\"${version//./-}\"" -I"$src" \
  "$here/sandbox.c" "$src/quickjs.c" "$src/libregexp.c" "$src/libunicode.c" "$src/cutils.c" "$src/dtoa.c" \
  -o "$work/query-engine.wasm" --no-entry -sSTANDALONE_WASM -sIMPORTED_MEMORY \
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=48MB -sTOTAL_STACK=1MB \
  -sERROR_ON_UNDEFINED_SYMBOLS=0 \
  -sEXPORTED_FUNCTIONS=_sbx_open,_sbx_close,_sbx_eval,_sbx_call,_sbx_alloc,_sbx_free,_sbx_set_reply,_sbx_out_ptr,_sbx_out_len,_sbx_forget_cost \
  2> "$work/emcc.log" || { cat "$work/emcc.log" >&2; exit 1; }
cp "$work/query-engine.wasm" "$out"
echo "wrote $out ($(wc -c < "$out") bytes, sha256 $(sha256sum "$out" | cut -c1-16)…)"
