/*
 * edge-cmpxchg's query sandbox: the C side of src/worker/js-engine.ts.
 *
 * One QuickJS runtime and context at a time, made by sbx_open and freed by sbx_close. Strings
 * cross as UTF-8 in the module's memory; the host (JavaScript) answers the five functions scripts
 * reach it through (host_call) and every interrupt check (host_interrupt), both imported.
 *
 * Every call returns a status: SBX_OK with the value's text in the out buffer (sbx_out_ptr /
 * sbx_out_len), SBX_NULL when the value is null or undefined (or not a string, for sbx_call), or
 * SBX_ERROR with the exception's name and message in the out buffer as "name\0message".
 */
#include <stdlib.h>
#include <string.h>
#include "quickjs.h"

#define SBX_OK 0
#define SBX_NULL 1
#define SBX_ERROR 2

/* Host answers to host_call. */
#define HOST_UNDEFINED 0
#define HOST_NULL 1
#define HOST_STRING 2 /* the text is in the reply buffer (sbx_reply) */
#define HOST_MISSING 3 /* a lookup not fetched yet: throw the marker error */
#define HOST_STOP 4 /* the budget is spent: throw the uncatchable "interrupted" */

#define HOST_CHARGE 4 /* the magic of __host_charge: its argument is a number */

__attribute__((import_module("env"), import_name("host_call")))
extern int host_call(int fn, const char *arg, int len);
__attribute__((import_module("env"), import_name("host_charge")))
extern int host_charge(double units);
__attribute__((import_module("env"), import_name("host_interrupt")))
extern int host_interrupt(int ticks, double native_bytes);

void js_take_interrupt_cost(int *ticks, double *native_bytes);
void sbx_forget_cost(void);

static JSRuntime *rt;
static JSContext *ctx;
static JSValue runner;
static char *out;
static size_t out_len;
static char *reply;
static int reply_len;

static const char *const host_names[] = {
    "__host_cmpxchg", "__host_load", "__host_include_cmpxchg", "__host_include", "__host_charge",
};

static void set_out(const char *a, size_t alen, const char *b, size_t blen)
{
    free(out);
    out_len = alen + (b ? 1 + blen : 0);
    out = malloc(out_len + 1);
    if (!out) {
        out_len = 0;
        return;
    }
    memcpy(out, a, alen);
    if (b) {
        out[alen] = 0;
        memcpy(out + alen + 1, b, blen);
    }
    out[out_len] = 0;
}

static void throw_interrupted(void)
{
    JS_ThrowInternalError(ctx, "interrupted");
    JSValue exc = JS_GetException(ctx);
    JS_SetUncatchableError(ctx, exc, 1);
    JS_Throw(ctx, exc);
}

static int on_interrupt(JSRuntime *r, void *opaque)
{
    int ticks;
    double bytes;
    js_take_interrupt_cost(&ticks, &bytes);
    return host_interrupt(ticks, bytes);
}

static JSValue host_fn(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv, int magic)
{
    JSValueConst arg = argc > 0 ? argv[0] : JS_UNDEFINED;
    int answer;
    if (magic == HOST_CHARGE) {
        double units;
        if (JS_ToFloat64(c, &units, arg))
            return JS_EXCEPTION;
        answer = host_charge(units);
    } else {
        size_t len;
        const char *text = JS_ToCStringLen(c, &len, arg);
        if (!text)
            return JS_EXCEPTION;
        answer = host_call(magic, text, (int)len);
        JS_FreeCString(c, text);
    }
    switch (answer) {
    case HOST_NULL:
        return JS_NULL;
    case HOST_STRING: {
        JSValue v = JS_NewStringLen(c, reply, reply_len);
        free(reply);
        reply = NULL;
        return v;
    }
    case HOST_MISSING:
    {
        JSValue e = JS_NewError(c);
        JS_SetPropertyStr(c, e, "message", JS_NewString(c, "__edge_cmpxchg_missing__"));
        return JS_Throw(c, e);
    }
    case HOST_STOP:
        throw_interrupted();
        return JS_EXCEPTION;
    default:
        return JS_UNDEFINED;
    }
}

/* The pending exception as "name\0message" in the out buffer (empty when it cannot be read,
   as with the heap full). */
static int failed(void)
{
    JSValue exc = JS_GetException(ctx);
    const char *name = NULL, *message = NULL;
    size_t nlen = 0, mlen = 0;
    if (JS_IsObject(exc)) {
        JSValue n = JS_GetPropertyStr(ctx, exc, "name");
        JSValue m = JS_GetPropertyStr(ctx, exc, "message");
        if (JS_IsString(n))
            name = JS_ToCStringLen(ctx, &nlen, n);
        if (JS_IsString(m))
            message = JS_ToCStringLen(ctx, &mlen, m);
        JS_FreeValue(ctx, n);
        JS_FreeValue(ctx, m);
    } else if (!JS_IsNull(exc) && !JS_IsUninitialized(exc)) {
        /* a thrown primitive; null is what QuickJS throws when it cannot even allocate the error */
        message = JS_ToCStringLen(ctx, &mlen, exc);
    }
    JS_FreeValue(ctx, JS_GetException(ctx)); /* whatever reading it threw */
    set_out(name ? name : "", nlen, message ? message : "", mlen);
    if (name)
        JS_FreeCString(ctx, name);
    if (message)
        JS_FreeCString(ctx, message);
    JS_FreeValue(ctx, exc);
    return SBX_ERROR;
}

static int answer(JSValue v)
{
    if (JS_IsException(v))
        return failed();
    if (!JS_IsString(v)) {
        JS_FreeValue(ctx, v);
        return SBX_NULL;
    }
    size_t len;
    const char *text = JS_ToCStringLen(ctx, &len, v);
    JS_FreeValue(ctx, v);
    if (!text)
        return failed();
    set_out(text, len, NULL, 0);
    JS_FreeCString(ctx, text);
    return SBX_OK;
}

/* A fresh runtime and context with the host functions as globals; 0 on success. */
int sbx_open(int memory_limit, int stack_size)
{
    rt = JS_NewRuntime();
    if (!rt)
        return -1;
    JS_SetMemoryLimit(rt, memory_limit);
    JS_SetMaxStackSize(rt, stack_size);
    JS_SetInterruptHandler(rt, on_interrupt, NULL);
    ctx = JS_NewContext(rt);
    if (!ctx) {
        JS_FreeRuntime(rt);
        rt = NULL;
        return -1;
    }
    runner = JS_UNDEFINED;
    JSValue global = JS_GetGlobalObject(ctx);
    for (int i = 0; i < 5; i++)
        JS_SetPropertyStr(ctx, global, host_names[i], JS_NewCFunctionMagic(ctx, host_fn, host_names[i], 1, JS_CFUNC_generic_magic, i));
    JS_FreeValue(ctx, global);
    sbx_forget_cost(); /* setting up is not the script's */
    return 0;
}

void sbx_close(void)
{
    if (ctx) {
        JS_FreeValue(ctx, runner);
        runner = JS_UNDEFINED;
        JS_FreeContext(ctx);
        JS_FreeRuntime(rt);
    }
    ctx = NULL;
    rt = NULL;
    free(reply);
    reply = NULL;
}

/* Evaluates global code (source is NUL-terminated): its value as sbx_call's, or, with keep = 1,
   kept as the runner (and SBX_NULL answered). */
int sbx_eval(const char *source, int len, const char *where, int keep)
{
    JSValue v = JS_Eval(ctx, source, len, where, JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v))
        return failed();
    if (!keep)
        return answer(v);
    JS_FreeValue(ctx, runner);
    runner = v;
    return SBX_NULL;
}

/* Calls the runner with one string argument (the row's arguments as a JSON array). */
int sbx_call(const char *arg, int len)
{
    JSValue text = JS_NewStringLen(ctx, arg, len);
    if (JS_IsException(text))
        return failed();
    JSValue v = JS_Call(ctx, runner, JS_UNDEFINED, 1, (JSValueConst *)&text);
    JS_FreeValue(ctx, text);
    return answer(v);
}

/* Forgets the work counted since the last interrupt check (the host's own prelude, say). */
void sbx_forget_cost(void)
{
    int ticks;
    double bytes;
    js_take_interrupt_cost(&ticks, &bytes);
}

/* Buffers the host writes into and reads from. */
char *sbx_alloc(int len) { return malloc(len + 1); }
void sbx_free(char *p) { free(p); }
void sbx_set_reply(char *p, int len) { free(reply); reply = p; reply_len = len; }
const char *sbx_out_ptr(void) { return out; }
int sbx_out_len(void) { return (int)out_len; }
