#!/bin/bash
# net-index.sh: net-allow-index = pip | npm, end to end. A fake package index
# on the host's loopback (a /simple/ page and a wheel for pip, a registry
# document and a tarball for npm, built here) is named the way a user names a
# mirror: PIP_INDEX_URL, npm_config_registry, a project .npmrc. The pypi and
# npm profiles then reach it from inside, with curl and with the tools
# themselves, and nothing else; a bad URL refuses the run (125); with
# nothing configured, the run allows what the installed pip and npm say
# their defaults are (asked the same way here, never written in this file).
. "${MOAT_SRCDIR:-$(dirname "$0")/../..}/tests/e2e/libtest.sh"
require_sandbox

PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! command -v curl >/dev/null; then
	skip_all "needs /usr/bin/python3 and curl"
fi

mkdir -p "$T/www/simple/tinypkg" "$T/www/files" "$T/www/npm"
echo "moat fake index" >"$T/www/simple/index.html"
www_start "$T/www"
IDX="http://idx.test:$P"

# A wheel and an npm tarball with their index documents, made now.
"$PY" - "$T/www" "$IDX" <<'EOF'
import base64, hashlib, io, json, os, sys, tarfile, zipfile
www, idx = sys.argv[1:3]
files = {"tinypkg/__init__.py": b"VALUE = 'from the fake index'\n",
         "tinypkg-0.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 0.1\n",
         "tinypkg-0.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: moat-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
record = ""
for n, b in files.items():
    h = base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\n" % (n, h, len(b))
record += "tinypkg-0.1.dist-info/RECORD,,\n"
whl = "tinypkg-0.1-py3-none-any.whl"
with zipfile.ZipFile(os.path.join(www, "files", whl), "w") as z:
    for n, b in files.items():
        z.writestr(n, b)
    z.writestr("tinypkg-0.1.dist-info/RECORD", record)
sha = hashlib.sha256(open(os.path.join(www, "files", whl), "rb").read()).hexdigest()
with open(os.path.join(www, "simple/tinypkg/index.html"), "w") as f:
    f.write('<html><body><a href="../../files/%s#sha256=%s">%s</a></body></html>\n' % (whl, sha, whl))
buf = io.BytesIO()
pj = json.dumps({"name": "tinypkg", "version": "0.1.0"}).encode()
with tarfile.open(fileobj=buf, mode="w:gz") as t:
    ti = tarfile.TarInfo("package/package.json"); ti.size = len(pj); ti.mode = 0o644
    t.addfile(ti, io.BytesIO(pj))
tgz = buf.getvalue()
open(os.path.join(www, "files/tinypkg-0.1.0.tgz"), "wb").write(tgz)
doc = {"name": "tinypkg", "dist-tags": {"latest": "0.1.0"},
       "versions": {"0.1.0": {"name": "tinypkg", "version": "0.1.0",
           "dist": {"tarball": idx + "/files/tinypkg-0.1.0.tgz",
                    "shasum": hashlib.sha1(tgz).hexdigest(),
                    "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()}}}}
open(os.path.join(www, "npm/tinypkg"), "w").write(json.dumps(doc))
EOF

# The shipped profiles, with the test's name for the fake index.
cat >"$T/idx.conf" <<EOF
include = pypi
include = npm
net-resolve = idx.test=127.0.0.1
net-resolve = other.test=127.0.0.1
net-allow-private = yes
env-set = npm_config_cache=/tmp/npm-cache
EOF
# The same without net-allow-private: the index name maps to loopback.
sed '/net-allow-private/d' "$T/idx.conf" >"$T/idx-public.conf"
export PIP_INDEX_URL="$IDX/simple/" npm_config_registry="$IDX/npm/"
PROFILE=$T/idx.conf

sandbox sh -c 'printf "%s %s\n" "$PIP_INDEX_URL" "$npm_config_registry"'
is "PIP_INDEX_URL and npm_config_registry pass into the sandbox" "$out" \
    "$IDX/simple/ $IDX/npm/"

sandbox curl -sS -m 10 "$IDX/simple/"
is "curl reaches the index named by PIP_INDEX_URL" "$out" "moat fake index"

sandbox curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://other.test:$P/simple/"
is "another host on the same address is refused (403)" "$out" "403"

run_moat run -v -p "$PROFILE" -- true
like "moat run -v says what it allowed and why" "$err" \
    "net-allow-index = pip: allowing idx.test:$P \(from PIP_INDEX_URL\)"
like "... for npm too" "$err" \
    "net-allow-index = npm: allowing idx.test:$P \(from npm_config_registry\)"

run_moat profiles show "$PROFILE"
like "profiles show lists the index host, marked as net-allow-index" "$out" \
    "#   net-allow = idx.test:$P +# net-allow-index pip, from PIP_INDEX_URL"

PROFILE=$T/idx-public.conf
sandbox curl -sS -m 10 -w ' %{http_code}' "$IDX/simple/"
like "an index name that resolves to loopback is refused without net-allow-private" \
    "$(printf '%s' "$out" | tr '\n' ' ')" "a loopback address, and net-allow-private is off\) +403$"
PROFILE=$T/idx.conf

if sandbox python3 -m pip --version && [ $rc = 0 ]; then
	sandbox python3 -m pip download --no-deps --no-cache-dir -q \
	    --trusted-host idx.test -d dl tinypkg
	if [ -f "$T/ws/dl/tinypkg-0.1-py3-none-any.whl" ]; then
		ok "pip download fetches the wheel through the proxy"
	else
		not_ok "pip download fetches the wheel through the proxy"
		diag "$err"
	fi
	sandbox sh -c 'python3 -m pip install --no-deps --no-cache-dir -q --trusted-host idx.test \
	    --break-system-packages --target site tinypkg >/dev/null 2>&1 ||
	    python3 -m pip install --no-deps --no-cache-dir -q --trusted-host idx.test \
	    --target site tinypkg &&
	    PYTHONPATH=site python3 -c "import tinypkg; print(tinypkg.VALUE)"'
	is "pip install --no-deps installs it, and it imports" "$out" "from the fake index"
else
	skip "pip download from the fake index (no pip inside the sandbox)"
	skip "pip install from the fake index (no pip inside the sandbox)"
fi

if sandbox npm --version && [ $rc = 0 ]; then
	sandbox npm view tinypkg version
	is "npm view reads the registry named by npm_config_registry" "$out" "0.1.0"
	sandbox npm pack tinypkg
	check "npm pack downloads and checks the tarball" \
	    test -f "$T/ws/tinypkg-0.1.0.tgz"
	# A project .npmrc, no variable: moat and npm both read the file.
	echo "registry=$IDX/npm/" >"$T/ws/.npmrc"
	unset npm_config_registry
	sandbox npm view tinypkg version
	is "a project .npmrc names the registry for moat and npm alike" "$out" "0.1.0"
	export npm_config_registry="$IDX/npm/"
	rm -f "$T/ws/.npmrc"
else
	skip "npm view from the fake registry (no npm inside the sandbox)"
	skip "npm pack from the fake registry (no npm inside the sandbox)"
	skip "a project .npmrc (no npm inside the sandbox)"
fi

# Bad URLs refuse the run before anything runs.
PIP_INDEX_URL="ftp://idx.test/simple" run_moat run -p "$PROFILE" -- true
is "a non-http PIP_INDEX_URL: exit 125" "$rc" "125"
like "... and the message names the variable" "$err" \
    "PIP_INDEX_URL: \"ftp://idx.test/simple\" is not an http:// or https:// URL"
mkdir -p "$XDG_CONFIG_HOME/pip"
printf '[global]\nextra-index-url = https://idx.test:99999/\n' >"$XDG_CONFIG_HOME/pip/pip.conf"
run_moat run -p "$PROFILE" -- true
is "a bad URL in pip.conf: exit 125" "$rc" "125"
like "... and the message names the file and line" "$err" \
    "$XDG_CONFIG_HOME/pip/pip.conf:2: .*port \"99999\" is not 1-65535"
rm -f "$XDG_CONFIG_HOME/pip/pip.conf"
PIP_INDEX_URL="http://127.0.0.1:$P/simple/" run_moat run -p "$T/idx-public.conf" -- true
is "an index on a loopback address without net-allow-private: exit 125" "$rc" "125"
like "... saying it is the sandbox's own loopback inside" "$err" \
    "127.0.0.1 is the sandbox's own loopback inside it.*host.moat.internal:PORT"
PIP_INDEX_URL="http://localhost:$P/simple/" run_moat run -p "$T/idx.conf" -- true
is "an index on localhost, even with net-allow-private: exit 125" "$rc" "125"
like "... naming the host's loopback's name inside" "$err" \
    "names localhost, which inside the sandbox is its own loopback; name the host's as host.moat.internal:$P"
PIP_INDEX_URL="http://host.moat.internal:$P/simple/" run_moat run -p "$T/idx-public.conf" -- true
is "an index on host.moat.internal without net-allow-private: exit 125" "$rc" "125"
like "... saying how to allow it" "$err" "loopback or private address; say net-allow-private = yes, or net-allow = host.moat.internal:$P"

# Nothing configured: the defaults come from the tools themselves, asked
# here the same way moat asks them (cleared environment, cwd /).
unset PIP_INDEX_URL npm_config_registry
mkdir -p "$T/empty"
cat >"$T/dflt.conf" <<EOF
include = pypi
include = npm
EOF
tool_hosts() {	# URL lines on stdin -> "host:port" lines
	sed -nE 's#^(https?)://([^/:]+)(:([0-9]+))?.*#\1 \2 \4#p' |
	    while read -r s h p; do
		[ -n "$p" ] || { [ "$s" = https ] && p=443 || p=80; }
		echo "$h:$p"
	done
}
pip_says=$(cd / && env -i PATH="$PATH" python3 -I -c \
    'from pip._internal.models.index import PyPI; print(PyPI.url); print("https://" + PyPI.file_storage_domain + "/")' \
    2>/dev/null | tool_hosts)
HOME=$T/empty run_moat run -v -p "$T/dflt.conf" -- true
if [ -z "$pip_says" ]; then
	skip "pip's default index (no python3 with pip on \$PATH)"
elif printf '%s' "$err" | grep -q "net-allow-index = pip: allowing .*from /"; then
	skip "pip's default index (this machine's pip config names an index: $(printf '%s' "$err" | grep -o 'from /[^)]*' | head -1))"
else
	want=$(printf '%s\n' "$pip_says" | sort | tr '\n' ' ')
	got=$(printf '%s\n' "$err" | sed -nE 's/.*net-allow-index = pip: allowing ([^ ]+) \(from pip.s default.*/\1/p' |
	    sort | tr '\n' ' ')
	is "nothing configured: moat allows exactly what the installed pip reports" "$got" "$want"
fi
npm_says=$(cd / && env -i PATH="$PATH" npm config get registry --userconfig=/dev/null \
    --globalconfig=/proc/self/none 2>/dev/null | tool_hosts)
if [ -z "$npm_says" ]; then
	skip "npm's default registry (no npm on \$PATH)"
elif printf '%s' "$err" | grep -q "net-allow-index = npm: allowing .*from /"; then
	skip "npm's default registry (this machine's npmrc names a registry)"
else
	got=$(printf '%s\n' "$err" | sed -nE 's/.*net-allow-index = npm: allowing ([^ ]+) \(from npm.s default.*/\1/p')
	is "nothing configured: moat allows exactly what the installed npm reports" "$got" "$npm_says"
fi
if [ -n "$pip_says" ]; then
	HOME=$T/empty run_moat run -v -p "$T/dflt.conf" -- true
	like "the second run takes pip's answer from the cache" "$err" "pip.s default \(asked [^)]*, cached\)"
	check "... kept in \$XDG_CACHE_HOME/moat" test -s "$XDG_CACHE_HOME/moat/index-pip"
	# The cache names hosts the sandbox may reach: believed only when the
	# user alone can have written it. A planted host, first in a file as
	# moat writes it (believed: the control), then group-writable, then in
	# a directory others may write.
	cf="$XDG_CACHE_HOME/moat/index-pip"
	cp -p "$cf" "$T/index-pip.good"
	plant() { sed 's|^url=.*|url=https://planted.test/simple|' "$T/index-pip.good" >"$cf.new" &&
		chmod 0600 "$cf.new" && mv "$cf.new" "$cf"; }
	plant
	HOME=$T/empty run_moat run -v -p "$T/dflt.conf" -- true
	like "a cache as moat writes it is believed (the control)" "$err" "allowing planted.test"
	plant; chmod 0620 "$cf"
	HOME=$T/empty run_moat run -v -p "$T/dflt.conf" -- true
	unlike "a group-writable cache is not believed" "$err" "planted.test"
	like "... pip is asked again" "$err" "pip.s default \(asked [^)]*\)"
	plant; chmod 0777 "$XDG_CACHE_HOME/moat"
	HOME=$T/empty run_moat run -v -p "$T/dflt.conf" -- true
	unlike "a cache in a directory others may write is not believed" "$err" "planted.test"
	chmod 0700 "$XDG_CACHE_HOME/moat"
	HOME=$T/empty run_moat profiles show "$T/dflt.conf"
	like "profiles show lists the cached default without running pip" "$out" \
	    "net-allow-index pip, from pip.s default \(asked [^)]*, cached\)"
	err=$(cd "$T/ws" && HOME=$T/empty PATH=$T/empty "$MOAT" run -p "$T/dflt.conf" \
	    -- /bin/true 2>&1 >/dev/null </dev/null)
	rc=$?
	is "no python3 and no index configured: exit 125" "$rc" "125"
	like "... saying how to name an index" "$err" "no python3 on \\\$PATH.*set PIP_INDEX_URL=URL"
else
	skip "pip's cache (no pip)"
	skip "pip's cache file (no pip)"
	skip "a planted cache (no pip)"
	skip "a group-writable cache (no pip)"
	skip "... asked again (no pip)"
	skip "a cache in a directory others may write (no pip)"
	skip "profiles show with pip's cached default (no pip)"
	skip "no python3 and no index (no pip to compare)"
	skip "no python3 and no index: the message (no pip to compare)"
fi

done_testing
