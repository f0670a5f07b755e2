# common.sh - sourced by the task scripts data/tasks/NAME.sh (POSIX sh), which set TASK=NAME and
# change to the top of the tree before sourcing it. See data/README.md, "Real tasks".
#
#   die MESSAGE            print "data/tasks/NAME.sh: MESSAGE" on stderr, exit 1
#   run CMD ARGS...        run CMD with its output in a log; on failure die with its last line
#   fetch_ecoli            fetch of the E. coli GenBank record of the E. coli tasks
#   fetch PKG PATH MD5     print the name of a local copy of the file /PATH of Debian package PKG
#                          whose md5 is MD5: the installed file if it matches, else one taken
#                          out of the package (apt-get download, nothing installed; dpkg-deb)
#                          and kept in $CACHE; dies when the md5 differs
#   up_to_date             exit 0 when $OUT was made by the same scripts (data/tasks/NAME.sh,
#                          common.sh and the files in $TASK_DEPS: their md5s are in
#                          $OUT/SCRIPTS) and its files still match $OUT/MD5SUMS (idempotence)
#   begin                  make the scratch directory $NEW (renamed to $OUT by finish)
#   finish                 write $NEW/MD5SUMS and SCRIPTS, replace $OUT by $NEW, print the
#                          class or series counts ($NEW/COUNTS.tsv) and the size
#
# The scratch directory is data/real/.NAME.new, so a failed run never leaves a half-built
# data/real/NAME. Python is Debian's /usr/bin/python3 (with numpy, h5py, netCDF4), never the
# one on PATH.
set -eu
: "${TASK:?}"
OUT=data/real/$TASK
NEW=data/real/.$TASK.new
CACHE=${RECUR_TASK_CACHE:-data/real/.cache}
PY=/usr/bin/python3
LOG=$(pwd)/data/real/.$TASK.log
TASK_DEPS=${TASK_DEPS:-}
trap 'rm -rf "$NEW" "$LOG"' EXIT

die() {
    echo "data/tasks/$TASK.sh: $*" >&2
    exit 1
}

[ -f data/tasks/common.sh ] || die "run from the top of the tree (data/tasks/common.sh not found)"
[ -x "$PY" ] || die "needs Debian's /usr/bin/python3 (make deps-tasks)"
mkdir -p data/real

run() {
    if ! "$@" >"$LOG" 2>&1; then
        msg=$(grep -v '^W: ' "$LOG" | tail -n 1)
        die "$1 failed: ${msg:-exit status != 0}"
    fi
}

need() {
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "needs $c (make deps-tasks)"
    done
}

fetch() {
    _pkg=$1 _path=${2#/} _md5=$3
    if [ -f "/$_path" ] && [ "$(md5sum <"/$_path" | cut -c1-32)" = "$_md5" ]; then
        echo "/$_path"
        return
    fi
    _dst=$CACHE/$_md5/$(basename "$_path")
    if [ ! -f "$_dst" ]; then
        mkdir -p "$CACHE/$_md5"
        _deb=$CACHE/$_pkg.deb
        if [ ! -f "$_deb" ]; then
            _tmp=$(mktemp -d "$CACHE/.dl.XXXXXX")
            chmod 755 "$_tmp"
            if ! (cd "$_tmp" && apt-get download "$_pkg") >"$LOG" 2>&1; then
                rm -rf "$_tmp"
                die "apt-get download $_pkg failed: $(grep -v '^W: ' "$LOG" | tail -n 1)"
            fi
            mv "$_tmp"/*.deb "$_deb"
            rm -rf "$_tmp"
        fi
        dpkg-deb --fsys-tarfile "$_deb" | tar -xO "./$_path" >"$_dst.part.$$" 2>"$LOG" ||
            { rm -f "$_dst.part.$$"; die "$_pkg has no /$_path"; }
        mv "$_dst.part.$$" "$_dst"
    fi
    _got=$(md5sum <"$_dst" | cut -c1-32)
    [ "$_got" = "$_md5" ] || die "/$_path from $_pkg has md5 $_got, expected $_md5"
    echo "$_dst"
}

# fetch_ecoli: the E. coli K-12 genome and annotation every E. coli task reads (NC_000913.2,
# GenBank, gzip; DATA.md), md5-pinned here once.
fetch_ecoli() {
    fetch cct-examples \
        usr/share/doc/cct/examples/sample_projects/sample_project_5/comparison_genomes/E_coli.gbk.gz \
        06d8f6ce38f3e5127127ed4ac6fcc705
}

scripts_md5() {
    # shellcheck disable=SC2086
    md5sum "data/tasks/$TASK.sh" data/tasks/common.sh $TASK_DEPS
}

up_to_date() {
    if [ -f "$OUT/MD5SUMS" ] && [ -f "$OUT/SCRIPTS" ] &&
        [ "$(scripts_md5)" = "$(cat "$OUT/SCRIPTS")" ] &&
        (cd "$OUT" && md5sum -c --quiet --status MD5SUMS); then
        echo "data/tasks/$TASK.sh: $OUT is up to date"
        exit 0
    fi
}

begin() {
    rm -rf "$NEW"
    mkdir -p "$NEW"
}

finish() {
    scripts_md5 >"$NEW/SCRIPTS"
    # shellcheck disable=SC2094
    (cd "$NEW" && find . -type f ! -name MD5SUMS ! -name SCRIPTS | sed 's|^\./||' |
        LC_ALL=C sort | xargs md5sum >MD5SUMS)
    rm -rf "$OUT"
    mv "$NEW" "$OUT"
    if [ -f "$OUT/COUNTS.tsv" ]; then
        sed "s|^|data/tasks/$TASK.sh: |" "$OUT/COUNTS.tsv"
    fi
    echo "data/tasks/$TASK.sh: wrote $OUT ($(du -sk "$OUT" | cut -f1) KB)"
}
