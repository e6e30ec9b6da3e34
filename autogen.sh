#!/bin/sh
# Generates configure from configure.ac with Dovecot's dovecot.m4.
set -e
cd "$(dirname "$0")"
mkdir -p m4 build-aux
for dir in /usr/share/aclocal /usr/local/share/aclocal; do
	if [ -f "$dir/dovecot.m4" ]; then
		cp "$dir/dovecot.m4" m4/dovecot.m4
		break
	fi
done
if [ ! -f m4/dovecot.m4 ]; then
	echo "autogen.sh: dovecot.m4 not found: install dovecot-dev" >&2
	exit 1
fi
autoreconf -fi
