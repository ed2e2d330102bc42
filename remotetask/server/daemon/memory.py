"""Giving memory back after large values.

glibc's allocator maps a block of 128 KB or more on its own and unmaps it
when freed, until the first such block is freed: then it raises that
threshold to the block's size (up to 32 MB), and later blocks of that size
come from the heap of the thread that asks, and stay there, as holes, when
freed. A server that once read a 9 MB result in each of its store threads
then keeps tens of megabytes per thread for good: measured, 161 MB of RSS
after one 9 MB job and its answer, against 50 MB with the threshold fixed.
So the daemon fixes it at ``LARGE`` bytes: each block that large is mapped
when made and unmapped when freed, which costs a system call per
megabyte-sized value, nothing for the small ones.
"""

import ctypes
import ctypes.util

from twisted.logger import Logger

#: Blocks of at least this many bytes are mapped and unmapped each time.
LARGE = 1024 * 1024
#: mallopt's parameter for that threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3

log = Logger()


def returnLargeBlocks(threshold=LARGE):
    """Have glibc give blocks of ``threshold`` bytes or more back to the
    system when they are freed; whether it could (other C libraries have
    no such setting, and nothing changes)."""
    name = ctypes.util.find_library('c')
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    if not mallopt(M_MMAP_THRESHOLD, threshold):
        log.warn('Could not set the allocator\'s threshold for large '
                 'blocks; memory freed after large answers may be kept.')
        return False
    return True
