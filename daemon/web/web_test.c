/*
 * web_test.c: the compiled-in page: lookup by exact path only, ETags, the weight budget, and a
 * lint that keeps the scripts safe by construction (no HTML sinks) and the page offline (no
 * external URL in the HTML).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "web_int.h"

static int contains(const struct web_asset *a, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= a->len; i++) {
        if (memcmp(a->data + i, needle, n) == 0) {
            return 1;
        }
    }
    return 0;
}

static void test_find_exact_paths_only(void **state)
{
    (void)state;
    assert_non_null(web_find("/"));
    assert_ptr_equal(web_find("/"), web_find("/index.html"));
    assert_non_null(web_find("/app.js"));
    assert_non_null(web_find("/app.css"));
    assert_non_null(web_find("/searchd.js"));
    assert_null(web_find("/../daemon/web/assets/app.js"));
    assert_null(web_find("//app.js"));
    assert_null(web_find("/app.js/"));
    assert_null(web_find("/APP.JS"));
    assert_null(web_find(""));
    assert_null(web_find("/etc/passwd"));
    assert_string_equal(web_find("/")->content_type, "text/html; charset=utf-8");
    assert_string_equal(web_find("/app.js")->content_type, "text/javascript; charset=utf-8");
}

static void test_page_weight_under_50k(void **state)
{
    (void)state;
    size_t total = 0;
    for (size_t i = 0; i < web_nassets; i++) {
        assert_true(web_assets[i].len > 0);
        total += web_assets[i].len;
    }
    assert_true(total < 50 * 1024);
}

static void test_etag(void **state)
{
    (void)state;
    const struct web_asset *a = web_find("/app.js");
    char list[128];
    assert_int_equal(strlen(a->etag), 18); /* 16 hex digits, quoted */
    assert_false(web_not_modified(a, NULL));
    assert_false(web_not_modified(a, "\"0000000000000000\""));
    assert_true(web_not_modified(a, a->etag));
    assert_true(web_not_modified(a, "*"));
    snprintf(list, sizeof list, "\"x\", W/%s", a->etag);
    assert_true(web_not_modified(a, list));
    snprintf(list, sizeof list, "%.17s", a->etag); /* a prefix of the tag is not the tag */
    assert_false(web_not_modified(a, list));
    assert_string_not_equal(web_find("/")->etag, a->etag);
}

static void test_scripts_have_no_html_sinks(void **state)
{
    (void)state;
    static const char *const sinks[] = {"innerHTML", "outerHTML", "insertAdjacentHTML",
                                        "document.write", "eval(", "new Function"};
    for (size_t i = 0; i < web_nassets; i++) {
        for (size_t j = 0; j < sizeof sinks / sizeof *sinks; j++) {
            if (contains(&web_assets[i], sinks[j])) {
                fail_msg("%s uses %s", web_assets[i].path, sinks[j]);
            }
        }
    }
}

static void test_page_is_offline(void **state)
{
    (void)state;
    assert_false(contains(web_find("/"), "://"));
    assert_false(contains(web_find("/app.css"), "://"));
    assert_false(contains(web_find("/app.css"), "@import"));
    assert_true(contains(web_find("/"), "src=\"searchd.js\"")); /* relative: a proxy's prefix */
}

static void test_headers(void **state)
{
    (void)state;
    const char *h = web_headers(web_find("/"));
    int has_csp = 0;
    for (; *h; h += strlen(h) + 1) {
        has_csp |= strncmp(h, "Content-Security-Policy: ", 25) == 0;
        assert_non_null(strstr(h, ": "));
    }
    assert_true(has_csp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_exact_paths_only),
        cmocka_unit_test(test_page_weight_under_50k),
        cmocka_unit_test(test_etag),
        cmocka_unit_test(test_scripts_have_no_html_sinks),
        cmocka_unit_test(test_page_is_offline),
        cmocka_unit_test(test_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
