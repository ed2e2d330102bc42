"""The daemon's memory: given back after large values, and collected
with less walking (``collectLess``).

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
import gc

from twisted.logger import Logger

#: Blocks of at least this many bytes are mapped and unmapped each time.
LARGE = 1024 * 1024
#: mallopt's parameter for that threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
#: Allocations between two collections of the youngest generation, in
#: the daemon (Python's own default is 700).
YOUNG_ALLOCATIONS = 10000

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


def collectLess(young=YOUNG_ALLOCATIONS):
    """Have the cyclic garbage collector walk fewer objects: those of the
    daemon's start (modules, the registry, the service tree) are frozen,
    never walked again by the collections of the oldest generation, and
    the youngest is collected every ``young`` allocations rather than
    every 700. A multicall of 500 adds is some 10,000 elements read and a
    few thousand values made, all alive until it is answered: at 700, one
    request set off a dozen collections, each walking what the one before
    left (issue 18: 1.5 to 2.5% of the daemon's instructions over a
    burst of such requests). Nothing is kept that was not before: garbage
    in cycles is still collected, a few thousand allocations later."""
    gc.freeze()
    gc.set_threshold(young, *gc.get_threshold()[1:])
