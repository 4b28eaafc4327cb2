#!/bin/sh
# Checks that generated documentation is current.
set -u
if build/brokerctl errors --markdown | diff -u docs/errors.md - ; then
	echo "docs: 1 passed, 0 failed"
else
	echo "docs/errors.md is out of date: run 'make docs'"
	echo "docs: 0 passed, 1 failed"
	exit 1
fi
