/* Batch physical-memory reader on top of the built libkdumpfile.
 * Usage: lkread [-m] [-o ostype] FILE [FILE...]  (stdin: "ADDR LEN" per line, hex or dec)
 * -m: read MACHPHYSADDR instead of KPHYSADDR.
 * Output: "OPEN OK format=F page_size=N max_pfn=N" or "OPEN ERR msg",
 * then per input line: "OK <hex>" or "ERR <bytes_read> <msg>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <libkdumpfile/kdumpfile.h>

int main(int argc, char **argv)
{
	kdump_addrspace_t as = KDUMP_KPHYSADDR;
	const char *ostype = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "mo:")) != -1) {
		if (opt == 'm') as = KDUMP_MACHPHYSADDR;
		else if (opt == 'o') ostype = optarg;
		else return 3;
	}
	int nf = argc - optind;
	if (nf < 1) return 3;
	int fds[nf];
	for (int i = 0; i < nf; i++) {
		fds[i] = open(argv[optind + i], O_RDONLY);
		if (fds[i] < 0) { printf("OPEN ERR cannot open file\n"); return 0; }
	}
	kdump_ctx_t *ctx = kdump_new();
	if (ostype && kdump_set_string_attr(ctx, KDUMP_ATTR_OSTYPE, ostype) != KDUMP_OK) {
		printf("OPEN ERR ostype: %s\n", kdump_get_err(ctx)); return 0;
	}
	kdump_status st = kdump_open_fdset(ctx, nf, fds);
	if (st != KDUMP_OK) {
		printf("OPEN ERR %s\n", kdump_get_err(ctx));
		return 0;
	}
	const char *fmt = "?";
	kdump_num_t ps = 0, maxpfn = 0;
	if (kdump_get_string_attr(ctx, KDUMP_ATTR_FILE_FORMAT, &fmt) != KDUMP_OK) fmt = "?";
	kdump_get_number_attr(ctx, KDUMP_ATTR_PAGE_SIZE, &ps);
	if (kdump_get_number_attr(ctx, "max_pfn", &maxpfn) != KDUMP_OK) maxpfn = (kdump_num_t)-1;
	printf("OPEN OK format=%s page_size=%llu max_pfn=%llu\n", fmt,
	       (unsigned long long)ps, (unsigned long long)maxpfn);
	fflush(stdout);
	char line[256];
	size_t cap = 0; unsigned char *buf = NULL;
	while (fgets(line, sizeof line, stdin)) {
		char *e;
		unsigned long long addr = strtoull(line, &e, 0);
		unsigned long long len = strtoull(e, &e, 0);
		if (len > cap) { cap = len; buf = realloc(buf, cap); }
		size_t sz = len;
		st = kdump_read(ctx, as, addr, buf, &sz);
		if (st == KDUMP_OK && sz == len) {
			fputs("OK ", stdout);
			for (size_t i = 0; i < sz; i++) printf("%02x", buf[i]);
			putchar('\n');
		} else {
			const char *m = st == KDUMP_OK ? "short read" : kdump_get_err(ctx);
			char msg[512]; snprintf(msg, sizeof msg, "%s", m ? m : "?");
			for (char *p = msg; *p; p++) if (*p == '\n') *p = ' ';
			printf("ERR %zu %s\n", sz, msg);
		}
		fflush(stdout);
	}
	kdump_free(ctx);
	return 0;
}
