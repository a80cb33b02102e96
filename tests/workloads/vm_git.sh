#!/bin/sh
# A git workload for the AppArmor VM tests: init a fresh repository in $1, commit two files,
# show the log. Object names are content-addressed (the commit's hash holds its time), so
# they differ from run to run.
set -e
cd "$1"
git init -q repo
cd repo
echo hello > a.txt
mkdir sub
echo world > sub/b.txt
git add .
git -c user.name=leastpriv -c user.email=leastpriv@example.org commit -q -m first
git log --oneline > ../log.txt
