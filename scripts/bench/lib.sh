# Shared by the benchmark scripts, which source it once they are at the repository's root.

# The middle of the numbers on stdin, one a line or separated by spaces (of an even count,
# the lower of the two middle ones).
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The time, in seconds to the nanosecond.
now() { date +%s.%N; }
