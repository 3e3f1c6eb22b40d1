/*
 * addr.c - which addresses a check may connect to (server-side request forgery).
 *
 * A registry gate checks URLs an attacker chooses. A public URL that redirects (or whose host
 * name later resolves) to 127.0.0.1, a private network or 169.254.169.254 (cloud metadata)
 * would make stcheck a probe of the gate's own network. The rule is applied by the transport
 * to every address it is about to connect to, after DNS (http.c: CURLOPT_OPENSOCKETFUNCTION,
 * before the TCP connect; CURLOPT_PREREQFUNCTION for a reused connection, before the request):
 * once a check has connected to a public address, no later connection of that check may go to
 * a non-public one; with --no-private-addresses none may, the first URL's included.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../core/escape.h"
#include "fetch.h"

/* IPv4 ranges that do not reach the public internet (RFC 6890 and friends). */
static const struct {
    uint32_t net;
    unsigned bits;
    const char *cls;
} v4_ranges[] = {
    {0x00000000u, 8, "unspecified (0.0.0.0/8)"},
    {0x0a000000u, 8, "private (10.0.0.0/8)"},
    {0x64400000u, 10, "shared (100.64.0.0/10)"},
    {0x7f000000u, 8, "loopback"},
    {0xa9fe0000u, 16, "link-local (169.254.0.0/16, cloud metadata)"},
    {0xac100000u, 12, "private (172.16.0.0/12)"},
    {0xc0000000u, 24, "IETF protocol (192.0.0.0/24)"},
    {0xc0a80000u, 16, "private (192.168.0.0/16)"},
    {0xc6120000u, 15, "benchmarking (198.18.0.0/15)"},
    {0xffffffffu, 32, "broadcast"},
    {0xe0000000u, 4, "multicast"},
    {0xf0000000u, 4, "reserved (240.0.0.0/4)"},
};

const char *st_addr_class4(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
        if ((a >> (32 - v4_ranges[i].bits)) == (v4_ranges[i].net >> (32 - v4_ranges[i].bits)))
            return v4_ranges[i].cls;
    return NULL;
}

static uint32_t v4_at(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

const char *st_addr_class6(const unsigned char a[16])
{
    static const unsigned char zero[12], mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
                                         nat64[12] = {0, 0x64, 0xff, 0x9b};
    static const unsigned char loop[16] = {[15] = 1};
    if (memcmp(a, loop, 16) == 0)
        return "loopback";
    /* ::a.b.c.d (compatible, :: itself included), ::ffff:a.b.c.d (mapped) and 64:ff9b::/96
     * (NAT64) reach the IPv4 address they embed */
    if (memcmp(a, zero, 12) == 0 || memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return st_addr_class4(v4_at(a + 12));
    if ((a[0] & 0xfe) == 0xfc)
        return "unique-local (fc00::/7)";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "link-local (fe80::/10)";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) /* deprecated, but a network may still route it */
        return "site-local (fec0::/10)";
    if (a[0] == 0xff)
        return "multicast";
    return NULL;
}

const char *st_addr_class(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        return st_addr_class4(ntohl(s4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6)
        return st_addr_class6(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
    return "non-IP"; /* fail closed: only IPv4 and IPv6 are judged */
}

int st_addr_public(const struct sockaddr *sa)
{
    return st_addr_class(sa) == NULL;
}

int st_addr_parse(const char *ip, struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss)); /* AF_UNSPEC: judged as not public */
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1)
        s4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1)
        s6->sin6_family = AF_INET6;
    else
        return -1;
    return 0;
}

int st_transport_connect(st_transport *t, const char *host, const struct sockaddr *sa)
{
    char ip[INET6_ADDRSTRLEN] = "?", h[300];
    const char *cls = st_addr_class(sa);
    if (cls == NULL || (!t->no_private && !t->seen_public)) {
        t->seen_public |= cls == NULL;
        t->refused[0] = '\0'; /* an address refused before (happy eyeballs) is not the outcome */
        return 0;
    }
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip,
                  sizeof(ip));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip,
                  sizeof(ip));
    snprintf(t->refused, sizeof(t->refused),
             "refused to connect to %s: its address %s is %s, not public%s",
             st_escape(host, strlen(host), h, sizeof(h), 260), ip, cls,
             t->no_private ? " (--no-private-addresses)"
                           : ", after the check connected to a public address");
    return -1;
}
