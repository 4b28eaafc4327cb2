/*
 * idp/pages.c — server-rendered HTML: the login page, the signed-out page
 * and the stylesheet.  No framework, no inline script or style (the CSP
 * forbids both); every interpolated value goes through brk_html_escape().
 * Japanese and English, chosen by ui_locales, then Accept-Language, then
 * Japanese.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "idp.h"
#include <openssl/evp.h>

#include "idp_int.h"

static const char *const strings[][2] = {
	/* IDP_S_* order: ja, en */
	[IDP_S_SIGNIN] = { "サインイン", "Sign in" },
	[IDP_S_TO_CONTINUE] = { "%s を利用するにはサインインしてください。",
	    "Sign in to continue to %s." },
	[IDP_S_USERNAME] = { "ユーザー名", "User name" },
	[IDP_S_PASSWORD] = { "パスワード", "Password" },
	[IDP_S_SUBMIT] = { "サインイン", "Sign in" },
	[IDP_S_OTHER_LANG] = { "English", "日本語" },
	[IDP_S_ERROR_CODE] = { "エラーコード", "Error code" },
	[IDP_S_REQUEST_ID] = { "リクエスト ID", "Request ID" },
	[IDP_S_SIGNED_OUT] = { "サインアウトしました。",
	    "You have been signed out." },
	[IDP_S_SIGNOUT] = { "サインアウト", "Sign out" },
	[IDP_S_SIGNOUT_Q] = { "サインアウトしますか？",
	    "Do you want to sign out?" },
	[IDP_S_ACCOUNT] = { "アカウント", "Account" },
	[IDP_S_SIGNED_IN_AS] = { "%s としてサインインしています。",
	    "Signed in as %s." },
	[IDP_S_LEVEL] = { "認証レベル", "Authentication level" },
	[IDP_S_OTP_TITLE] = { "確認コード", "Verification code" },
	[IDP_S_OTP_LEAD] = { "認証アプリに表示されている 6 桁のコード、または"
	    "リカバリーコードを入力してください。",
	    "Enter the 6-digit code shown in your authenticator app, or a "
	    "recovery code." },
	[IDP_S_OTP_CODE] = { "コード", "Code" },
	[IDP_S_VERIFY] = { "確認", "Verify" },
	[IDP_S_FACTORS] = { "認証要素", "Authenticators" },
	[IDP_S_TOTP] = { "認証アプリ (TOTP)", "Authenticator app (TOTP)" },
	[IDP_S_TOTP_SETUP] = { "認証アプリを設定", "Set up an authenticator app" },
	[IDP_S_TOTP_REMOVE] = { "認証アプリを削除", "Remove the authenticator app" },
	[IDP_S_TOTP_ACTIVE] = { "設定済み", "Set up" },
	[IDP_S_TOTP_NONE] = { "未設定", "Not set up" },
	[IDP_S_TOTP_SCAN] = { "認証アプリでこの QR コードを読み取るか、"
	    "下のキーを入力してから、表示されたコードを入力してください。",
	    "Scan this QR code with your authenticator app, or type the key "
	    "below, then enter the code it shows." },
	[IDP_S_TOTP_KEY] = { "キー", "Key" },
	[IDP_S_QR_ALT] = { "認証アプリ用の QR コード",
	    "QR code for the authenticator app" },
	[IDP_S_RECOVERY_TITLE] = { "リカバリーコード", "Recovery codes" },
	[IDP_S_RECOVERY_LEAD] = { "認証アプリを使えないときのためのコードです。"
	    "各コードは一度だけ使えます。今すぐ安全な場所に保管してください。"
	    "再表示はできません。",
	    "Use these if you cannot use your authenticator app. Each works "
	    "once. Store them somewhere safe now: they will not be shown "
	    "again." },
	[IDP_S_CONTINUE] = { "続ける", "Continue" },
	[IDP_S_WA_PASSKEY_SIGNIN] = { "パスキーでサインイン",
	    "Sign in with a passkey" },
	[IDP_S_WA_TITLE] = { "セキュリティキー", "Security key" },
	[IDP_S_WA_LEAD] = { "登録済みのセキュリティキーまたはパスキーで"
	    "本人確認をしてください。",
	    "Confirm it is you with your registered security key or "
	    "passkey." },
	[IDP_S_WA_HW_LEAD] = { "この操作には登録済みのハードウェア"
	    "セキュリティキー（PIN または生体認証あり）が必要です。",
	    "This needs your registered hardware security key, with its PIN "
	    "or biometrics." },
	[IDP_S_WA_USE] = { "キーを使う", "Use my key" },
	[IDP_S_WA_KEYS] = { "パスキーとセキュリティキー",
	    "Passkeys and security keys" },
	[IDP_S_WA_NONE] = { "登録されていません。", "None registered." },
	[IDP_S_WA_ADD_PASSKEY] = { "パスキーを登録", "Register a passkey" },
	[IDP_S_WA_ADD_KEY] = { "セキュリティキーを登録",
	    "Register a security key" },
	[IDP_S_WA_REMOVE] = { "削除", "Remove" },
	[IDP_S_WA_LABEL] = { "名前", "Name" },
	[IDP_S_WA_CREATED] = { "登録日時", "Registered" },
	[IDP_S_WA_LAST_USED] = { "最終使用", "Last used" },
	[IDP_S_WA_STATE] = { "状態", "State" },
	[IDP_S_WA_PENDING] = { "承認待ち", "Awaiting approval" },
	[IDP_S_WA_ACTIVE] = { "有効", "Active" },
	[IDP_S_WA_SUSPENDED] = { "停止中", "Suspended" },
	[IDP_S_WA_NOJS] = { "この操作には JavaScript と WebAuthn に対応した"
	    "ブラウザが必要です。",
	    "This needs a browser with JavaScript and WebAuthn." },
	[IDP_S_WA_APPROVALS] = { "管理者キーの承認",
	    "Administrator key approvals" },
	[IDP_S_WA_APPROVE] = { "承認", "Approve" },
	[IDP_S_WA_APPROVALS_NONE] = { "承認待ちのキーはありません。",
	    "No keys are awaiting approval." },
	[IDP_S_WA_OWNER] = { "所有者", "Owner" },
	[IDP_S_WA_CODE] = { "登録コード（最初の管理者のみ）",
	    "Enrolment code (first administrator only)" },
	[IDP_S_WA_APPROVED] = { "キーを承認しました。",
	    "The key has been approved." },
	[IDP_S_WA_NEVER] = { "未使用", "Never" },
};

const char *
idp_str(enum idp_lang lang, enum idp_str id)
{
	return strings[id][lang == IDP_LANG_EN ? 1 : 0];
}

/* First supported tag in a space-separated ui_locales or a comma-separated
 * Accept-Language list (q-values are taken in order given; browsers send
 * them sorted). */
static int
lang_from_list(const char *s, enum idp_lang *out)
{
	while (s != NULL && *s != '\0') {
		while (*s == ' ' || *s == ',')
			s++;
		if (strncasecmp(s, "ja", 2) == 0 &&
		    (s[2] == '\0' || strchr(" ,;-", s[2]) != NULL)) {
			*out = IDP_LANG_JA;
			return 1;
		}
		if (strncasecmp(s, "en", 2) == 0 &&
		    (s[2] == '\0' || strchr(" ,;-", s[2]) != NULL)) {
			*out = IDP_LANG_EN;
			return 1;
		}
		s += strcspn(s, " ,");
	}
	return 0;
}

enum idp_lang
idp_lang_pick(const char *explicit_lang, const char *ui_locales,
    const char *accept_language)
{
	enum idp_lang l = IDP_LANG_JA;

	if (explicit_lang != NULL && lang_from_list(explicit_lang, &l))
		return l;
	if (ui_locales != NULL && lang_from_list(ui_locales, &l))
		return l;
	if (accept_language != NULL && lang_from_list(accept_language, &l))
		return l;
	return IDP_LANG_JA;
}

static int
esc(struct cm_buf *b, const char *s)
{
	return brk_html_escape(b, s ? s : "");
}

static int
hidden(struct cm_buf *b, const char *name, const char *value)
{
	int r = 0;

	if (value == NULL)
		return 0;
	r |= cm_buf_appendf(b, "<input type=\"hidden\" name=\"%s\" "
	    "value=\"", name);
	r |= esc(b, value);
	r |= cm_buf_appendf(b, "\">");
	return r ? CM_ERR_RANGE : 0;
}

/* printf into the buffer with exactly one %s replaced by escaped text. */
static int
fmt1(struct cm_buf *b, const char *fmt, const char *arg)
{
	const char *p = strstr(fmt, "%s");
	int r;

	if (p == NULL)
		return cm_buf_append(b, fmt, strlen(fmt));
	if ((r = cm_buf_append(b, fmt, (size_t)(p - fmt))) != 0 ||
	    (r = esc(b, arg)) != 0)
		return r;
	return cm_buf_append(b, p + 2, strlen(p + 2));
}

static int
head(struct cm_buf *b, enum idp_lang lang, const char *title)
{
	int r;

	r = cm_buf_appendf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>",
	    lang == IDP_LANG_EN ? "en" : "ja");
	r |= esc(b, title);
	r |= cm_buf_appendf(b, " — Sekimori</title><link rel=\"stylesheet\" "
	    "href=\"/static/sekimori.css\"></head><body><main class=\"card\">");
	return r ? CM_ERR_RANGE : 0;
}

static int
tail(struct cm_buf *b)
{
	return cm_buf_appendf(b, "</main></body></html>\n");
}

static int
error_box(struct cm_buf *b, enum idp_lang lang, const struct cm_errdef *e,
    const char *rid)
{
	int r = 0;

	if (e == NULL)
		return 0;
	r |= cm_buf_appendf(b, "<div class=\"error\" role=\"alert\" "
	    "id=\"error\"><p>");
	r |= esc(b, lang == IDP_LANG_EN ? e->msg_en : e->msg_ja);
	r |= cm_buf_appendf(b, "</p><dl class=\"trace\"><dt>");
	r |= esc(b, idp_str(lang, IDP_S_ERROR_CODE));
	r |= cm_buf_appendf(b, "</dt><dd><code>%s</code></dd><dt>", e->code);
	r |= esc(b, idp_str(lang, IDP_S_REQUEST_ID));
	r |= cm_buf_appendf(b, "</dt><dd><code>");
	r |= esc(b, rid);
	r |= cm_buf_appendf(b, "</code></dd></dl></div>");
	return r ? CM_ERR_RANGE : 0;
}

int
idp_page_login(const struct idp_login_page *pg, char **html)
{
	struct cm_buf b;
	enum idp_lang lang = pg->lang;
	int r = 0;

	*html = NULL;
	cm_buf_init(&b, 64 * 1024, 0);
	r |= head(&b, lang, idp_str(lang, IDP_S_SIGNIN));
	r |= cm_buf_appendf(&b, "<h1>");
	r |= esc(&b, idp_str(lang, IDP_S_SIGNIN));
	r |= cm_buf_appendf(&b, "</h1><p class=\"lead\">");
	r |= fmt1(&b, idp_str(lang, IDP_S_TO_CONTINUE), pg->client_name);
	r |= cm_buf_appendf(&b, "</p>");
	r |= error_box(&b, lang, pg->error, pg->request_id);
	r |= cm_buf_appendf(&b, "<form method=\"post\" action=\"/login\" "
	    "autocomplete=\"on\"><input type=\"hidden\" name=\"tx\" value=\"");
	r |= esc(&b, pg->tx);
	r |= cm_buf_appendf(&b, "\"><input type=\"hidden\" name=\"csrf\" "
	    "value=\"");
	r |= esc(&b, pg->csrf);
	r |= cm_buf_appendf(&b, "\"><input type=\"hidden\" name=\"lang\" "
	    "value=\"%s\">", lang == IDP_LANG_EN ? "en" : "ja");
	r |= cm_buf_appendf(&b, "<label for=\"username\">");
	r |= esc(&b, idp_str(lang, IDP_S_USERNAME));
	r |= cm_buf_appendf(&b, "</label><input id=\"username\" "
	    "name=\"username\" type=\"text\" autocomplete=\"username\" "
	    "autocapitalize=\"none\" spellcheck=\"false\" required "
	    "maxlength=\"64\" value=\"");
	r |= esc(&b, pg->username);
	r |= cm_buf_appendf(&b, "\"%s>", (pg->username == NULL ||
	    pg->username[0] == '\0') ? " autofocus" : "");
	r |= cm_buf_appendf(&b, "<label for=\"password\">");
	r |= esc(&b, idp_str(lang, IDP_S_PASSWORD));
	r |= cm_buf_appendf(&b, "</label><input id=\"password\" "
	    "name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required maxlength=\"1024\"%s>",
	    (pg->username != NULL && pg->username[0] != '\0') ?
	    " autofocus" : "");
	r |= cm_buf_appendf(&b, "<button type=\"submit\">");
	r |= esc(&b, idp_str(lang, IDP_S_SUBMIT));
	r |= cm_buf_appendf(&b, "</button></form>");
	/* usernameless passkey sign-in (webauthn.c), shown by the script */
	r |= cm_buf_appendf(&b, "<form method=\"post\" action=\"/login/"
	    "webauthn\" id=\"passkey-form\" data-wa=\"login\" "
	    "data-options=\"/webauthn/login/options\" hidden>");
	r |= hidden(&b, "tx", pg->tx);
	r |= hidden(&b, "csrf", pg->csrf);
	r |= hidden(&b, "lang", lang == IDP_LANG_EN ? "en" : "ja");
	r |= hidden(&b, "credential", "");
	r |= cm_buf_appendf(&b, "<button type=\"submit\" id=\"passkey\" "
	    "class=\"secondary\">");
	r |= esc(&b, idp_str(lang, IDP_S_WA_PASSKEY_SIGNIN));
	r |= cm_buf_appendf(&b, "</button><p class=\"hint\" role=\"status\" "
	    "data-wa-status></p></form><script src=\"/static/webauthn.js\" "
	    "defer></script><p class=\"lang\">"
	    "<a href=\"/login?tx=");
	r |= esc(&b, pg->tx);
	r |= cm_buf_appendf(&b, "&amp;lang=%s\" lang=\"%s\" hreflang=\"%s\">",
	    lang == IDP_LANG_EN ? "ja" : "en", lang == IDP_LANG_EN ? "ja" : "en",
	    lang == IDP_LANG_EN ? "ja" : "en");
	r |= esc(&b, idp_str(lang, IDP_S_OTHER_LANG));
	r |= cm_buf_appendf(&b, "</a></p>");
	r |= tail(&b);
	if (r != 0 || cm_buf_cstr(&b) != 0) {
		cm_buf_free(&b);
		return CM_ERR_RANGE;
	}
	*html = (char *)b.data;
	return 0;
}

int
idp_page_message(enum idp_lang lang, const char *title, const char *msg,
    char **html)
{
	struct cm_buf b;
	int r = 0;

	*html = NULL;
	cm_buf_init(&b, 16 * 1024, 0);
	r |= head(&b, lang, title);
	r |= cm_buf_appendf(&b, "<h1>");
	r |= esc(&b, title);
	r |= cm_buf_appendf(&b, "</h1><p class=\"lead\" role=\"status\">");
	r |= esc(&b, msg);
	r |= cm_buf_appendf(&b, "</p>");
	r |= tail(&b);
	if (r != 0 || cm_buf_cstr(&b) != 0) {
		cm_buf_free(&b);
		return CM_ERR_RANGE;
	}
	*html = (char *)b.data;
	return 0;
}

int
idp_page_logout_confirm(enum idp_lang lang, const char *csrf,
    const char *uri, const char *state, const char *client_id, char **html)
{
	struct cm_buf b;
	int r = 0;

	*html = NULL;
	cm_buf_init(&b, 16 * 1024, 0);
	r |= head(&b, lang, idp_str(lang, IDP_S_SIGNOUT));
	r |= cm_buf_appendf(&b, "<h1>");
	r |= esc(&b, idp_str(lang, IDP_S_SIGNOUT));
	r |= cm_buf_appendf(&b, "</h1><p class=\"lead\">");
	r |= esc(&b, idp_str(lang, IDP_S_SIGNOUT_Q));
	r |= cm_buf_appendf(&b, "</p><form method=\"post\" "
	    "action=\"/logout\">");
	r |= hidden(&b, "csrf", csrf);
	r |= hidden(&b, "post_logout_redirect_uri", uri);
	r |= hidden(&b, "state", state);
	r |= hidden(&b, "client_id", client_id);
	r |= hidden(&b, "ui_locales", lang == IDP_LANG_EN ? "en" : "ja");
	r |= cm_buf_appendf(&b, "<button type=\"submit\" autofocus>");
	r |= esc(&b, idp_str(lang, IDP_S_SIGNOUT));
	r |= cm_buf_appendf(&b, "</button></form>");
	r |= tail(&b);
	if (r != 0 || cm_buf_cstr(&b) != 0) {
		cm_buf_free(&b);
		return CM_ERR_RANGE;
	}
	*html = (char *)b.data;
	return 0;
}

/* A page with a heading, an optional error box and a body callback. */
static int
card_start(struct cm_buf *b, enum idp_lang lang, const char *title,
    const struct cm_errdef *error, const char *rid)
{
	int r = 0;

	r |= head(b, lang, title);
	r |= cm_buf_appendf(b, "<h1>");
	r |= esc(b, title);
	r |= cm_buf_appendf(b, "</h1>");
	r |= error_box(b, lang, error, rid);
	return r ? CM_ERR_RANGE : 0;
}

static int
card_finish(struct cm_buf *b, int r, char **html)
{
	r |= tail(b);
	if (r != 0 || cm_buf_cstr(b) != 0) {
		cm_buf_free(b);
		return CM_ERR_RANGE;
	}
	*html = (char *)b->data;
	return 0;
}

int
idp_page_otp(enum idp_lang lang, const char *tx, const char *csrf,
    const struct cm_errdef *error, const char *rid, char **html)
{
	struct cm_buf b;
	int r = 0;

	*html = NULL;
	cm_buf_init(&b, 16 * 1024, 0);
	r |= card_start(&b, lang, idp_str(lang, IDP_S_OTP_TITLE), error, rid);
	r |= cm_buf_appendf(&b, "<p class=\"lead\">");
	r |= esc(&b, idp_str(lang, IDP_S_OTP_LEAD));
	r |= cm_buf_appendf(&b, "</p><form method=\"post\" "
	    "action=\"/login/otp\">");
	r |= hidden(&b, "tx", tx);
	r |= hidden(&b, "csrf", csrf);
	r |= hidden(&b, "lang", lang == IDP_LANG_EN ? "en" : "ja");
	r |= cm_buf_appendf(&b, "<label for=\"code\">");
	r |= esc(&b, idp_str(lang, IDP_S_OTP_CODE));
	r |= cm_buf_appendf(&b, "</label><input id=\"code\" name=\"code\" "
	    "type=\"text\" inputmode=\"numeric\" "
	    "autocomplete=\"one-time-code\" required maxlength=\"64\" "
	    "autofocus><button type=\"submit\">");
	r |= esc(&b, idp_str(lang, IDP_S_VERIFY));
	r |= cm_buf_appendf(&b, "</button></form>");
	return card_finish(&b, r, html);
}

int
idp_page_account(const struct idp_account_page *pg, char **html)
{
	enum idp_lang lang = pg->lang;
	struct cm_buf b;
	int r = 0;

	*html = NULL;
	cm_buf_init(&b, 32 * 1024, 0);
	r |= card_start(&b, lang, idp_str(lang, IDP_S_ACCOUNT), pg->error,
	    pg->request_id);
	r |= cm_buf_appendf(&b, "<p class=\"lead\">");
	r |= fmt1(&b, idp_str(lang, IDP_S_SIGNED_IN_AS), pg->uid);
	r |= cm_buf_appendf(&b, "</p><dl class=\"trace\"><dt>");
	r |= esc(&b, idp_str(lang, IDP_S_LEVEL));
	r |= cm_buf_appendf(&b, "</dt><dd id=\"level\">");
	r |= esc(&b, pg->level);
	r |= cm_buf_appendf(&b, "</dd><dt>");
	r |= esc(&b, idp_str(lang, IDP_S_TOTP));
	r |= cm_buf_appendf(&b, "</dt><dd id=\"totp-state\">");
	r |= esc(&b, idp_str(lang, pg->totp_active ? IDP_S_TOTP_ACTIVE :
	    IDP_S_TOTP_NONE));
	r |= cm_buf_appendf(&b, "</dd></dl>");
	if (pg->totp_enabled) {
		r |= cm_buf_appendf(&b, "<form method=\"post\" "
		    "action=\"/account/totp\">");
		r |= hidden(&b, "csrf", pg->csrf);
		r |= hidden(&b, "action", pg->totp_active ? "remove" : "start");
		r |= cm_buf_appendf(&b, "<button type=\"submit\" "
		    "id=\"totp-action\">");
		r |= esc(&b, idp_str(lang, pg->totp_active ?
		    IDP_S_TOTP_REMOVE : IDP_S_TOTP_SETUP));
		r |= cm_buf_appendf(&b, "</button></form>");
	}
	if (pg->wa_section != NULL)
		r |= cm_buf_append(&b, pg->wa_section, strlen(pg->wa_section));
	r |= cm_buf_appendf(&b, "<form method=\"post\" action=\"/logout\">");
	r |= hidden(&b, "csrf", pg->csrf);
	r |= cm_buf_appendf(&b, "<button type=\"submit\" id=\"signout\">");
	r |= esc(&b, idp_str(lang, IDP_S_SIGNOUT));
	r |= cm_buf_appendf(&b, "</button></form>");
	return card_finish(&b, r, html);
}

int
idp_page_totp_enrol(enum idp_lang lang, const char *csrf, const char *svg,
    const char *key, const char *uri, const struct cm_errdef *error,
    const char *rid, char **html)
{
	struct cm_buf b;
	char *svg64 = NULL;
	int r = 0;

	*html = NULL;
	/* an <img> with a data: URI: no inline markup, allowed by the CSP */
	if (EVP_ENCODE_LENGTH(strlen(svg)) > 1024 * 1024 ||
	    (svg64 = malloc(EVP_ENCODE_LENGTH(strlen(svg)) + 1)) == NULL)
		return CM_ERR_NOMEM;
	{
		int n = EVP_EncodeBlock((unsigned char *)svg64,
		    (const unsigned char *)svg, (int)strlen(svg));
		svg64[n] = '\0';
	}
	cm_buf_init(&b, 2 * 1024 * 1024, 0);
	r |= card_start(&b, lang, idp_str(lang, IDP_S_TOTP_SETUP), error,
	    rid);
	r |= cm_buf_appendf(&b, "<p class=\"lead\">");
	r |= esc(&b, idp_str(lang, IDP_S_TOTP_SCAN));
	r |= cm_buf_appendf(&b, "</p><p class=\"qr\"><img id=\"qr\" "
	    "width=\"240\" height=\"240\" src=\"data:image/svg+xml;base64,");
	r |= cm_buf_append(&b, svg64, strlen(svg64));
	r |= cm_buf_appendf(&b, "\" alt=\"");
	r |= esc(&b, idp_str(lang, IDP_S_QR_ALT));
	r |= cm_buf_appendf(&b, "\"></p><dl class=\"trace\"><dt>");
	r |= esc(&b, idp_str(lang, IDP_S_TOTP_KEY));
	r |= cm_buf_appendf(&b, "</dt><dd><code id=\"totp-key\">");
	r |= esc(&b, key);
	r |= cm_buf_appendf(&b, "</code></dd></dl><p class=\"hint\">"
	    "<code id=\"totp-uri\">");
	r |= esc(&b, uri);
	r |= cm_buf_appendf(&b, "</code></p><form method=\"post\" "
	    "action=\"/account/totp\">");
	r |= hidden(&b, "csrf", csrf);
	r |= hidden(&b, "action", "confirm");
	r |= cm_buf_appendf(&b, "<label for=\"code\">");
	r |= esc(&b, idp_str(lang, IDP_S_OTP_CODE));
	r |= cm_buf_appendf(&b, "</label><input id=\"code\" name=\"code\" "
	    "type=\"text\" inputmode=\"numeric\" "
	    "autocomplete=\"one-time-code\" required maxlength=\"8\" "
	    "autofocus><button type=\"submit\">");
	r |= esc(&b, idp_str(lang, IDP_S_VERIFY));
	r |= cm_buf_appendf(&b, "</button></form>");
	free(svg64);
	return card_finish(&b, r, html);
}

int
idp_page_begin(struct cm_buf *b, enum idp_lang lang, const char *title,
    const struct cm_errdef *error, const char *rid)
{
	return card_start(b, lang, title, error, rid);
}

int
idp_page_text(struct cm_buf *b, const char *s)
{
	return esc(b, s);
}

int
idp_page_hidden(struct cm_buf *b, const char *name, const char *value)
{
	return hidden(b, name, value);
}

int
idp_page_end(struct cm_buf *b, int r, char **html)
{
	*html = NULL;
	return card_finish(b, r, html);
}

int
idp_page_recovery(enum idp_lang lang, const char *const *codes, size_t n,
    char **html)
{
	struct cm_buf b;
	size_t i;
	int r = 0;

	*html = NULL;
	/* the codes are secrets shown once: wipe the buffer's growth */
	cm_buf_init(&b, 32 * 1024, 1);
	r |= card_start(&b, lang, idp_str(lang, IDP_S_RECOVERY_TITLE), NULL,
	    NULL);
	r |= cm_buf_appendf(&b, "<p class=\"lead\" role=\"status\">");
	r |= esc(&b, idp_str(lang, IDP_S_RECOVERY_LEAD));
	r |= cm_buf_appendf(&b, "</p><ul class=\"codes\" id=\"recovery\">");
	for (i = 0; i < n; i++) {
		r |= cm_buf_appendf(&b, "<li><code>");
		r |= esc(&b, codes[i]);
		r |= cm_buf_appendf(&b, "</code></li>");
	}
	r |= cm_buf_appendf(&b, "</ul><p><a href=\"/account\">");
	r |= esc(&b, idp_str(lang, IDP_S_CONTINUE));
	r |= cm_buf_appendf(&b, "</a></p>");
	return card_finish(&b, r, html);
}

/* Contrast: text #1a1a1a on #ffffff (17:1), links and buttons #0b4f9c on
 * white (8.6:1), white on #0b4f9c for buttons; visible focus rings. */
const char idp_stylesheet[] =
	":root{color-scheme:light}"
	"*{box-sizing:border-box}"
	"body{margin:0;background:#eef1f5;color:#1a1a1a;font:16px/1.6 "
	"system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',sans-serif}"
	".card{max-width:26rem;margin:4rem auto;padding:2rem;background:#fff;"
	"border:1px solid #c9d1db;border-radius:8px}"
	"h1{font-size:1.5rem;margin:0 0 1rem}"
	".lead{margin:0 0 1.5rem}"
	"label{display:block;font-weight:600;margin:1rem 0 .25rem}"
	"input[type=text],input[type=password]{width:100%;padding:.6rem;"
	"font:inherit;border:1px solid #6b7785;border-radius:4px}"
	"button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;"
	"font-weight:600;color:#fff;background:#0b4f9c;border:0;"
	"border-radius:4px;cursor:pointer}"
	"button:hover{background:#093f7d}"
	"a{color:#0b4f9c}"
	":focus-visible{outline:3px solid #f0a500;outline-offset:2px}"
	".error{border-left:4px solid #b3261e;background:#fdecea;"
	"padding:.5rem 1rem;margin:0 0 1rem}"
	".trace{display:grid;grid-template-columns:max-content minmax(0,1fr);"
	"gap:0 1rem;font-size:.875rem;margin:.5rem 0 0}"
	".trace dt{font-weight:600}"
	".trace dd{margin:0;overflow-wrap:anywhere}"
	".lang{margin-top:1.5rem;text-align:right}"
	".hint{font-size:.875rem;color:#3d4651;word-break:break-all}"
	".qr{text-align:center}.qr img{border:8px solid #fff}"
	".codes{columns:2;font-size:1.125rem}"
	"button.secondary{color:#0b4f9c;background:#fff;"
	"border:2px solid #0b4f9c}"
	"button.secondary:hover{background:#eef1f5}"
	".keys{list-style:none;padding:0;margin:.5rem 0}"
	".keys li{border-top:1px solid #c9d1db;padding:.5rem 0}"
	"input[type=text].inline{margin-top:.25rem}";
