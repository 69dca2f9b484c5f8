/* tui-meter.c: the meter panel's state and drawing. The run's sampler
 * calls tmeter_sample at its rate, the run's events tmeter_event; both
 * only store; tmeter_draw is called by the coalesced redraw. Front end
 * (TUI), in the supervisor's process. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/event.h"
#include "base/util.h"
#include "sandbox/meter.h"
#include "tui-draw.h"
#include "tui-meter.h"

void
tmeter_start(struct tmeter *m, uint64_t mem_limit, uint64_t pids_limit,
    double timeout)
{
	memset(m, 0, sizeof *m);
	m->running = true;
	m->t0 = now_mono();
	m->cpu_pct = m->mem = m->mem_peak = m->procs = NAN;
	m->mem_limit = mem_limit;
	m->pids_limit = pids_limit;
	m->timeout = timeout;
}

void
tmeter_sample(struct tmeter *m, const struct meter_sample *s)
{
	m->nsamples++;
	m->elapsed = now_mono() - m->t0;
	if (!isnan(s->cpu_pct)) {
		m->cpu_pct = s->cpu_pct;
		if (m->nhist == TMETER_HIST)
			memmove(m->hist, m->hist + 1, (TMETER_HIST - 1) * sizeof m->hist[0]);
		else
			m->nhist++;
		m->hist[m->nhist - 1] = s->cpu_pct;
	}
	m->mem = s->mem_current;
	m->mem_peak = meter_max(m->mem_peak, s->mem_peak);
	m->mem_peak = meter_max(m->mem_peak, s->mem_current);
	m->procs = s->nprocs;
}

void
tmeter_event(struct tmeter *m, const struct run_event *ev)
{
	switch (ev->kind) {
	case EV_NET_CONN:
		if (ev->verdict != NULL && strcmp(ev->verdict, "allowed") == 0)
			m->conn_ok++;
		else
			m->conn_refused++;
		break;
	case EV_SYSCALL_DENIED:
		m->sys_denied += ev->count > 0 ? (unsigned)ev->count : 1;
		break;
	default:
		break;
	}
}

void
tmeter_stop(struct tmeter *m)
{
	if (m->running)
		m->elapsed = now_mono() - m->t0;
	m->running = false;
}

const char *
tmeter_spark(double pct)
{
	static const char *const	bars[] = {
		"\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
		"\u2587", "\u2588",
	};
	int				i;

	if (isnan(pct) || pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	i = (int)(pct / 100.0 * 7.0 + 0.5);
	return (bars[i]);
}

static char *
tmeter_bytes(double b, char *buf, size_t n)
{
	if (isnan(b)) {
		snprintf(buf, n, "-");
		return (buf);
	}
	return (meter_format_bytes(b, buf, n));
}

static void
tmeter_time(double s, char *buf, size_t n)
{
	long	t = (long)(s < 0 ? 0 : s);

	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

static double
tmeter_elapsed(const struct tmeter *m)
{
	return (m->running ? now_mono() - m->t0 : m->elapsed);
}

void
tmeter_line(const struct tmeter *m, char *buf, size_t n)
{
	char	cpu[16], mem[16], lim[20], peak[16], el[16], to[20], procs[16],
		pl[24];

	snprintf(cpu, sizeof cpu, isnan(m->cpu_pct) ? "-" : "%.0f%%", m->cpu_pct);
	tmeter_bytes(m->mem, mem, sizeof mem);
	tmeter_bytes(m->mem_peak, peak, sizeof peak);
	tmeter_time(tmeter_elapsed(m), el, sizeof el);
	lim[0] = to[0] = pl[0] = '\0';
	if (m->mem_limit > 0) {
		lim[0] = '/';
		meter_format_bytes((double)m->mem_limit, lim + 1, sizeof lim - 1);
	}
	if (m->timeout > 0) {
		to[0] = '/';
		tmeter_time(m->timeout, to + 1, sizeof to - 1);
	}
	if (m->pids_limit > 0)
		snprintf(pl, sizeof pl, "/%llu", (unsigned long long)m->pids_limit);
	snprintf(procs, sizeof procs, isnan(m->procs) ? "-" : "%.0f", m->procs);
	snprintf(buf, n, "cpu %s  mem %s%s peak %s  pids %s%s  %s%s  net %u/%u  sys %u",
	    cpu, mem, lim, peak, procs, pl, el, to, m->conn_ok, m->conn_refused,
	    m->sys_denied);
}

/* "label  ██████░░ value" in width columns. */
static void
tmeter_gauge(WINDOW *w, int y, int x, int width, const char *label,
    double frac, const char *value)
{
	int	barw = width - 5 - (int)strlen(value) - 1, fill;

	wmove(w, y, x);
	draw_set_role(w, ROLE_DIM);
	draw_str(w, label, 5);
	wattr_set(w, A_NORMAL, 0, NULL);
	draw_fill(w, x + 5);
	if (barw >= 4) {
		if (isnan(frac) || frac < 0)
			frac = 0;
		if (frac > 1)
			frac = 1;
		fill = (int)(frac * barw + 0.5);
		draw_set_role(w, frac >= 0.9 ? ROLE_BAD : frac >= 0.7 ? ROLE_WARN :
		    ROLE_BAR);
		for (int i = 0; i < barw; i++)
			draw_str(w, i < fill ? "\u2588" : "\u2591", 1);
		wattr_set(w, A_NORMAL, 0, NULL);
		draw_str(w, " ", 1);
	}
	draw_str(w, value, width - (getcurx(w) - x));
	draw_fill(w, x + width);
}

void
tmeter_draw(const struct tmeter *m, WINDOW *w, int y, int x, int rows, int width)
{
	char	a[32], b[32], v[64];
	int	row = 0, gw;

	if (rows <= 0 || width < 12)
		return;
	/* cpu: the graph, then the figure */
	wmove(w, y + row, x);
	draw_set_role(w, ROLE_DIM);
	draw_str(w, "cpu", 5);
	wattr_set(w, A_NORMAL, 0, NULL);
	draw_fill(w, x + 5);
	snprintf(v, sizeof v, isnan(m->cpu_pct) ? "   -" : "%4.0f%%", m->cpu_pct);
	gw = width - 5 - (int)strlen(v) - 1;
	if (gw > 0) {
		unsigned	first = m->nhist > (unsigned)gw ? m->nhist - (unsigned)gw : 0;

		draw_set_role(w, ROLE_BAR);
		for (unsigned i = first; i < m->nhist; i++)
			draw_str(w, tmeter_spark(m->hist[i]), 1);
		wattr_set(w, A_NORMAL, 0, NULL);
		draw_fill(w, x + 5 + gw + 1);
	}
	draw_str(w, v, width - (getcurx(w) - x));
	draw_fill(w, x + width);
	if (++row >= rows)
		return;
	/* mem: against the limit */
	tmeter_bytes(m->mem, a, sizeof a);
	if (m->mem_limit > 0) {
		meter_format_bytes((double)m->mem_limit, b, sizeof b);
		snprintf(v, sizeof v, "%s/%s", a, b);
	} else
		snprintf(v, sizeof v, "%s", a);
	tmeter_gauge(w, y + row, x, width, "mem", m->mem_limit > 0 ?
	    m->mem / (double)m->mem_limit : NAN, v);
	if (++row >= rows)
		return;
	tmeter_bytes(m->mem_peak, a, sizeof a);
	snprintf(v, sizeof v, "peak %s", a);
	wmove(w, y + row, x + 5);
	draw_str(w, v, width - 5);
	draw_fill(w, x + width);
	wmove(w, y + row, x);
	draw_str(w, "     ", 5);
	if (++row >= rows)
		return;
	/* pids */
	snprintf(a, sizeof a, isnan(m->procs) ? "-" : "%.0f", m->procs);
	if (m->pids_limit > 0)
		snprintf(v, sizeof v, "%s/%llu", a, (unsigned long long)m->pids_limit);
	else
		snprintf(v, sizeof v, "%s", a);
	tmeter_gauge(w, y + row, x, width, "pids", m->pids_limit > 0 ?
	    m->procs / (double)m->pids_limit : NAN, v);
	if (++row >= rows)
		return;
	/* time */
	tmeter_time(tmeter_elapsed(m), a, sizeof a);
	if (m->timeout > 0) {
		tmeter_time(m->timeout, b, sizeof b);
		snprintf(v, sizeof v, "%s/%s", a, b);
	} else
		snprintf(v, sizeof v, "%s", a);
	tmeter_gauge(w, y + row, x, width, "time", m->timeout > 0 ?
	    tmeter_elapsed(m) / m->timeout : NAN, v);
	if (++row >= rows)
		return;
	/* net and syscalls */
	wmove(w, y + row, x);
	draw_set_role(w, ROLE_DIM);
	draw_str(w, "net", 5);
	wattr_set(w, A_NORMAL, 0, NULL);
	draw_fill(w, x + 5);
	snprintf(v, sizeof v, "\u2713%u ", m->conn_ok);
	draw_set_role(w, ROLE_OK);
	draw_str(w, v, width - (getcurx(w) - x));
	snprintf(v, sizeof v, "\u2717%u", m->conn_refused);
	draw_set_role(w, m->conn_refused > 0 ? ROLE_BAD : ROLE_DIM);
	draw_str(w, v, width - (getcurx(w) - x));
	wattr_set(w, A_NORMAL, 0, NULL);
	snprintf(v, sizeof v, "  sys \u2717%u", m->sys_denied);
	draw_set_role(w, m->sys_denied > 0 ? ROLE_BAD : ROLE_DIM);
	draw_str(w, v, width - (getcurx(w) - x));
	wattr_set(w, A_NORMAL, 0, NULL);
	draw_fill(w, x + width);
	for (row++; row < rows; row++) {
		wmove(w, y + row, x);
		draw_fill(w, x + width);
	}
}
