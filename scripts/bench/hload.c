/*
 * hload: a closed-loop HTTP/1.1 load generator for HEAD requests.
 *
 * wrk 4.1 cannot measure HEAD: its response parser waits for the
 * Content-Length bytes a HEAD response announces but never sends, so every
 * connection stalls after the first request.  This tool does what wrk does
 * for the other methods (keep-alive connections, each sending its next
 * request as soon as the previous response is complete, cycling through a
 * list of targets) and prints the same BENCHJSON line as wrk.lua, so that
 * bench.py treats both alike.  bench.py compiles it into the scratch
 * directory with `cc -O2`.
 *
 *   hload THREADS CONNECTIONS SECONDS PORT TARGETS_FILE
 *
 * Only "HEAD" and 127.0.0.1; a response is complete at its empty line.
 * Status other than 2xx/3xx counts as a status error, as in wrk.
 */

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define BUF_SIZE  16384


typedef struct {
    int         fd;
    size_t      next;           /* index of the next target */
    size_t      sent;           /* bytes of the current request sent */
    size_t      have;           /* bytes of the response received */
    uint64_t    start;          /* when the current request was begun */
    char        buf[BUF_SIZE];
} conn_t;


typedef struct {
    pthread_t   tid;
    int         id;
    int         nconns;
    uint64_t    requests;
    uint64_t    bytes;
    uint64_t    err_connect;
    uint64_t    err_read;
    uint64_t    err_write;
    uint64_t    err_status;
    uint32_t   *lat;            /* microseconds, one per request */
    size_t      nlat;
    size_t      cap;
} thread_t;


static char      **reqs;        /* formatted requests */
static size_t     *reqlen;
static size_t      nreqs;
static int         port;
static uint64_t    deadline;


static uint64_t
now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}


static int
conn_open(void)
{
    int                 fd, one;
    struct sockaddr_in  sin;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1) {
        return -1;
    }

    one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* blocking connect on loopback: immediate */
    if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1) {
        close(fd);
        return -1;
    }

    return fd;
}


static int
send_request(thread_t *t, conn_t *c)
{
    ssize_t  n;
    size_t   i;

    i = c->next;

    while (c->sent < reqlen[i]) {
        n = write(c->fd, reqs[i] + c->sent, reqlen[i] - c->sent);
        if (n == -1) {
            if (errno == EAGAIN) {
                return 0;
            }
            t->err_write++;
            return -1;
        }
        c->sent += n;
    }

    return 0;
}


static void
begin(conn_t *c)
{
    c->next = (c->next + 1) % nreqs;
    c->sent = 0;
    c->have = 0;
    c->start = now_us();
}


static int
reconnect(thread_t *t, conn_t *c, int ep)
{
    struct epoll_event  ev;

    if (c->fd != -1) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }

    c->fd = conn_open();
    if (c->fd == -1) {
        t->err_connect++;
        return -1;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);

    begin(c);

    return send_request(t, c);
}


/* returns 1: response complete, 0: need more, -1: connection lost */

static int
on_readable(thread_t *t, conn_t *c, int *close_after)
{
    char     *end, *p;
    ssize_t   n;
    int       status;

    n = read(c->fd, c->buf + c->have, BUF_SIZE - 1 - c->have);
    if (n <= 0) {
        if (n == -1 && errno == EAGAIN) {
            return 0;
        }
        return -1;
    }

    c->have += n;
    c->buf[c->have] = '\0';

    end = strstr(c->buf, "\r\n\r\n");
    if (end == NULL) {
        if (c->have >= BUF_SIZE - 1) {
            return -1;
        }
        return 0;
    }

    t->bytes += c->have;

    status = 0;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1
        || status < 200 || status >= 400)
    {
        t->err_status++;
    }

    *close_after = 0;
    for (p = c->buf; p < end; p++) {
        if ((*p == 'C' || *p == 'c')
            && strncasecmp(p, "connection: close", 17) == 0)
        {
            *close_after = 1;
            break;
        }
    }

    return 1;
}


static void *
run(void *arg)
{
    thread_t           *t = arg;
    conn_t             *conns, *c;
    int                 ep, i, n, rc, close_after;
    uint64_t            now;
    struct epoll_event  evs[256];

    ep = epoll_create1(0);
    conns = calloc(t->nconns, sizeof(conn_t));
    if (ep == -1 || conns == NULL) {
        perror("hload");
        exit(1);
    }

    for (i = 0; i < t->nconns; i++) {
        c = &conns[i];
        c->fd = -1;
        c->next = ((size_t) t->id * 7919 + (size_t) i * 104729) % nreqs;
        reconnect(t, c, ep);
    }

    for ( ;; ) {
        now = now_us();
        if (now >= deadline) {
            break;
        }

        n = epoll_wait(ep, evs, 256, (int) ((deadline - now) / 1000) + 1);

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;

            rc = on_readable(t, c, &close_after);
            if (rc == 0) {
                continue;
            }

            if (rc == -1) {
                t->err_read++;
                reconnect(t, c, ep);
                continue;
            }

            now = now_us();
            if (now >= deadline) {
                break;
            }

            t->requests++;
            if (t->nlat == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 65536;
                t->lat = realloc(t->lat, t->cap * sizeof(uint32_t));
                if (t->lat == NULL) {
                    perror("hload");
                    exit(1);
                }
            }
            t->lat[t->nlat++] = (uint32_t) (now - c->start);

            if (close_after) {
                reconnect(t, c, ep);
                continue;
            }

            begin(c);
            if (send_request(t, c) == -1) {
                reconnect(t, c, ep);
            }
        }
    }

    for (i = 0; i < t->nconns; i++) {
        if (conns[i].fd != -1) {
            close(conns[i].fd);
        }
    }

    free(conns);
    close(ep);

    return NULL;
}


static int
cmp_u32(const void *a, const void *b)
{
    uint32_t  x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int        nthreads, nconns, secs, i;
    char       line[65536];
    size_t     len, total, k, cap;
    FILE      *f;
    thread_t  *threads;
    uint32_t  *all;
    uint64_t   start, dur, req, bytes, ec, er, ew, es, max;
    double     sum;

    if (argc != 6) {
        fprintf(stderr, "usage: hload THREADS CONNECTIONS SECONDS PORT "
                "TARGETS_FILE\n");
        return 2;
    }

    nthreads = atoi(argv[1]);
    nconns = atoi(argv[2]);
    secs = atoi(argv[3]);
    port = atoi(argv[4]);

    f = fopen(argv[5], "r");
    if (f == NULL || nthreads < 1 || nconns < nthreads) {
        fprintf(stderr, "hload: bad arguments\n");
        return 2;
    }

    cap = 0;
    while (fgets(line, sizeof(line), f)) {
        len = strcspn(line, "\r\n");
        if (len == 0) {
            continue;
        }
        line[len] = '\0';
        if (nreqs == cap) {
            cap = cap ? cap * 2 : 1024;
            reqs = realloc(reqs, cap * sizeof(char *));
            reqlen = realloc(reqlen, cap * sizeof(size_t));
        }
        reqs[nreqs] = malloc(len + 64);
        reqlen[nreqs] = sprintf(reqs[nreqs], "HEAD %s HTTP/1.1\r\n"
                                "Host: 127.0.0.1:%d\r\n\r\n", line, port);
        nreqs++;
    }
    fclose(f);

    if (nreqs == 0) {
        fprintf(stderr, "hload: no targets\n");
        return 2;
    }

    threads = calloc(nthreads, sizeof(thread_t));

    start = now_us();
    deadline = start + (uint64_t) secs * 1000000;

    for (i = 0; i < nthreads; i++) {
        threads[i].id = i;
        threads[i].nconns = nconns / nthreads
                            + (i < nconns % nthreads ? 1 : 0);
        pthread_create(&threads[i].tid, NULL, run, &threads[i]);
    }

    total = 0;
    req = bytes = ec = er = ew = es = 0;
    for (i = 0; i < nthreads; i++) {
        pthread_join(threads[i].tid, NULL);
        total += threads[i].nlat;
        req += threads[i].requests;
        bytes += threads[i].bytes;
        ec += threads[i].err_connect;
        er += threads[i].err_read;
        ew += threads[i].err_write;
        es += threads[i].err_status;
    }
    dur = now_us() - start;

    all = malloc((total + 1) * sizeof(uint32_t));
    k = 0;
    sum = 0;
    for (i = 0; i < nthreads; i++) {
        memcpy(all + k, threads[i].lat, threads[i].nlat * sizeof(uint32_t));
        k += threads[i].nlat;
    }
    qsort(all, total, sizeof(uint32_t), cmp_u32);
    max = 0;
    for (k = 0; k < total; k++) {
        sum += all[k];
        if (all[k] > max) {
            max = all[k];
        }
    }

    printf("BENCHJSON {\"requests\": %llu, \"bytes\": %llu, "
           "\"duration_us\": %llu, \"connect\": %llu, \"read\": %llu, "
           "\"write\": %llu, \"status\": %llu, \"timeout\": 0, "
           "\"p50_us\": %u, \"p99_us\": %u, \"mean_us\": %.1f, "
           "\"max_us\": %llu}\n",
           (unsigned long long) req, (unsigned long long) bytes,
           (unsigned long long) dur, (unsigned long long) ec,
           (unsigned long long) er, (unsigned long long) ew,
           (unsigned long long) es,
           total ? all[total / 2] : 0,
           total ? all[(size_t) (total * 0.99)] : 0,
           total ? sum / total : 0.0, (unsigned long long) max);

    return 0;
}
