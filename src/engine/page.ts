/** The page size of every simulation (`config.pageSizeBytes` accepts only 4096): x86-64's PAGE_SIZE. A leaf: imports nothing. */
export const PAGE_SIZE = 4096;
