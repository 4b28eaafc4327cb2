/*
 * common/errcat.c — the one error catalogue.  Codes are stable: never
 * renumber or reuse one; add new entries at the end of their range.
 * docs/errors.md is generated from this table.
 */
#include <stddef.h>

#include "cm.h"

static const struct cm_errdef cm_errcat[] = {
	{ CM_E_NOT_FOUND, "SKM-1001", 404, NULL,
	  "The requested page does not exist.",
	  "指定されたページは存在しません。" },
	{ CM_E_METHOD, "SKM-1002", 405, NULL,
	  "This method is not allowed here.",
	  "このメソッドは許可されていません。" },
	{ CM_E_BODY_TOO_LARGE, "SKM-1003", 413, "invalid_request",
	  "The request body is too large.",
	  "リクエスト本文が大きすぎます。" },
	{ CM_E_HEADERS_TOO_LARGE, "SKM-1004", 431, "invalid_request",
	  "The request headers are too large or too many.",
	  "リクエストヘッダーが大きすぎるか、多すぎます。" },
	{ CM_E_OVERLOADED, "SKM-1005", 503, "temporarily_unavailable",
	  "The service is busy; try again shortly.",
	  "サービスが混み合っています。しばらくしてから再度お試しください。" },
	{ CM_E_INTERNAL, "SKM-1006", 500, "server_error",
	  "An internal error occurred.",
	  "内部エラーが発生しました。" },
	{ CM_E_NOT_READY, "SKM-1007", 503, "temporarily_unavailable",
	  "The service is not ready.",
	  "サービスの準備ができていません。" },
	{ CM_E_BAD_REQUEST, "SKM-1008", 400, "invalid_request",
	  "The request is malformed.",
	  "リクエストの形式が正しくありません。" },
	{ CM_E_UNSUPPORTED_MEDIA, "SKM-1009", 415, "invalid_request",
	  "The request content type is not supported.",
	  "リクエストのコンテンツタイプはサポートされていません。" },
	{ CM_E_SHUTTING_DOWN, "SKM-1010", 503, "temporarily_unavailable",
	  "The service is shutting down.",
	  "サービスは停止処理中です。" },
	{ CM_E_AUDIT_UNAVAILABLE, "SKM-1011", 503, "temporarily_unavailable",
	  "The audit log cannot be written; the operation was refused.",
	  "監査ログを書き込めないため、操作を拒否しました。" },

	{ CM_E_DIR_UNAVAILABLE, "SKM-2001", 503, "temporarily_unavailable",
	  "The directory service is unavailable.",
	  "ディレクトリサービスを利用できません。" },
	{ CM_E_DIR_TIMEOUT, "SKM-2002", 503, "temporarily_unavailable",
	  "The directory service did not answer in time.",
	  "ディレクトリサービスが時間内に応答しませんでした。" },
	{ CM_E_DIR_CONFLICT, "SKM-2003", 409, NULL,
	  "A concurrent update won; try again.",
	  "同時に行われた更新と競合しました。再度お試しください。" },
	{ CM_E_DIR_INVALID_NAME, "SKM-2004", 400, "invalid_request",
	  "The name is not valid.",
	  "名前が正しくありません。" },

	{ CM_E_TOK_INVALID, "SKM-3001", 401, "invalid_token",
	  "The token is not valid.",
	  "トークンが無効です。" },
	{ CM_E_TOK_EXPIRED, "SKM-3002", 401, "invalid_token",
	  "The token has expired.",
	  "トークンの有効期限が切れています。" },
	{ CM_E_TOK_SIGNER_UNAVAILABLE, "SKM-3003", 503,
	  "temporarily_unavailable",
	  "The signing service is unavailable.",
	  "署名サービスを利用できません。" },

	{ CM_E_OAUTH_INVALID_REQUEST, "SKM-4001", 400, "invalid_request",
	  "The request is missing a parameter or is malformed.",
	  "リクエストのパラメーターが不足しているか、形式が正しくありません。" },
	{ CM_E_OAUTH_INVALID_CLIENT, "SKM-4002", 401, "invalid_client",
	  "Client authentication failed.",
	  "クライアント認証に失敗しました。" },
	{ CM_E_OAUTH_INVALID_GRANT, "SKM-4003", 400, "invalid_grant",
	  "The grant is invalid, expired or already used.",
	  "グラントが無効、期限切れ、または使用済みです。" },
	{ CM_E_OAUTH_UNAUTHORIZED_CLIENT, "SKM-4004", 400,
	  "unauthorized_client",
	  "This client may not use this grant type.",
	  "このクライアントはこのグラント種別を使用できません。" },
	{ CM_E_OAUTH_UNSUPPORTED_GRANT, "SKM-4005", 400,
	  "unsupported_grant_type",
	  "The grant type is not supported.",
	  "このグラント種別はサポートされていません。" },
	{ CM_E_OAUTH_INVALID_SCOPE, "SKM-4006", 400, "invalid_scope",
	  "The requested scope is not allowed.",
	  "要求されたスコープは許可されていません。" },
	{ CM_E_OAUTH_INVALID_TOKEN, "SKM-4007", 401, "invalid_token",
	  "The access token is missing, invalid or expired.",
	  "アクセストークンがない、無効、または期限切れです。" },
	{ CM_E_LOGIN_FAILED, "SKM-4008", 401, "access_denied",
	  "The user name or password is incorrect.",
	  "ユーザー名またはパスワードが正しくありません。" },
	{ CM_E_ACCOUNT_LOCKED, "SKM-4009", 403, "access_denied",
	  "The account is temporarily locked after too many failures.",
	  "失敗が多すぎるため、アカウントは一時的にロックされています。" },
	{ CM_E_ACCOUNT_DISABLED, "SKM-4010", 403, "access_denied",
	  "The account is disabled.",
	  "アカウントは無効化されています。" },
	{ CM_E_PASSWORD_EXPIRED, "SKM-4011", 403, "access_denied",
	  "The password has expired and must be changed.",
	  "パスワードの有効期限が切れています。変更が必要です。" },
	{ CM_E_PASSWORD_POLICY, "SKM-4012", 400, "invalid_request",
	  "The new password does not meet the password rules.",
	  "新しいパスワードがパスワード規則を満たしていません。" },
	{ CM_E_CSRF, "SKM-4013", 403, "invalid_request",
	  "The form has expired or was not sent by this site; reload it.",
	  "フォームの有効期限が切れているか、このサイトから送信されていません。再読み込みしてください。" },
	{ CM_E_LOGIN_EXPIRED, "SKM-4014", 400, "invalid_request",
	  "The sign-in request has expired; return to the application and "
	  "start again.",
	  "サインイン要求の有効期限が切れました。アプリケーションに戻って"
	  "やり直してください。" },
	{ CM_E_RPA_OWNER_INACTIVE, "SKM-4015", 401, "invalid_client",
	  "The accountable owner of this service account is not active.",
	  "このサービスアカウントの責任者が有効ではありません。" },
	{ CM_E_OAUTH_LOGIN_REQUIRED, "SKM-4016", 400, "login_required",
	  "Sign-in is required.",
	  "サインインが必要です。" },

	{ CM_E_NETWORK_DENIED, "SKM-5001", 403, "access_denied",
	  "Sign-in from this network is not allowed for this application.",
	  "このネットワークからこのアプリケーションへのサインインは許可されていません。" },
	{ CM_E_MFA_REQUIRED, "SKM-5002", 403,
	  "unmet_authentication_requirements",
	  "This application needs a second factor; set one up on your "
	  "account page first.",
	  "このアプリケーションには二要素認証が必要です。先にアカウントページで"
	  "設定してください。" },
	{ CM_E_HWK_REQUIRED, "SKM-5003", 403,
	  "unmet_authentication_requirements",
	  "This application needs a registered hardware security key.",
	  "このアプリケーションには登録済みのハードウェアセキュリティキーが必要です。" },
	{ CM_E_OTP_WRONG, "SKM-5004", 401, "access_denied",
	  "The code is not correct.",
	  "コードが正しくありません。" },
	{ CM_E_OTP_LOCKED, "SKM-5005", 429, "access_denied",
	  "Too many wrong codes; wait a while and try again.",
	  "誤ったコードが多すぎます。しばらく待ってから再度お試しください。" },
	{ CM_E_OTP_REPLAY, "SKM-5006", 401, "access_denied",
	  "This code was already used; wait for the next one.",
	  "このコードは使用済みです。次のコードをお待ちください。" },
	{ CM_E_REAUTH_REQUIRED, "SKM-5007", 403, "access_denied",
	  "Sign in again to do this.",
	  "この操作には再度のサインインが必要です。" },
	{ CM_E_MFA_UNAVAILABLE, "SKM-5008", 503, "temporarily_unavailable",
	  "Two-factor authentication is not configured on this server.",
	  "このサーバーでは二要素認証が設定されていません。" },
	{ CM_E_FACTOR_EXISTS, "SKM-5009", 409, "invalid_request",
	  "An authenticator of this kind is already set up.",
	  "この種類の認証器は既に設定されています。" },
	{ CM_E_STEP_UP_REQUIRED, "SKM-5010", 401,
	  "insufficient_user_authentication",
	  "A stronger or more recent authentication is required.",
	  "より強い、またはより新しい認証が必要です。" },

	{ CM_E_WA_UNKNOWN_KEY, "SKM-6001", 401, "access_denied",
	  "This security key or passkey is not registered here.",
	  "このセキュリティキーまたはパスキーは登録されていません。" },
	{ CM_E_WA_CLONE, "SKM-6002", 401, "access_denied",
	  "This key may have been copied: it has been suspended. Contact "
	  "the help desk.",
	  "このキーは複製された可能性があるため停止しました。ヘルプデスクに"
	  "連絡してください。" },
	{ CM_E_WA_PENDING, "SKM-6003", 403, "access_denied",
	  "This key is waiting for approval by another administrator.",
	  "このキーは別の管理者による承認を待っています。" },
	{ CM_E_WA_OWN_APPROVAL, "SKM-6004", 403, "access_denied",
	  "You cannot approve your own key; another administrator must.",
	  "自分のキーは承認できません。別の管理者が承認する必要があります。" },
	{ CM_E_WA_SUSPENDED, "SKM-6005", 403, "access_denied",
	  "This key is suspended. Contact the help desk.",
	  "このキーは停止されています。ヘルプデスクに連絡してください。" },
	{ CM_E_WA_ATTESTATION, "SKM-6006", 400, "invalid_request",
	  "This key cannot be used here: its maker or model is not trusted "
	  "for this purpose.",
	  "このキーはここでは使用できません。製造元または機種が信頼されて"
	  "いません。" },
	{ CM_E_WA_FAILED, "SKM-6007", 401, "access_denied",
	  "The security key check failed; try again.",
	  "セキュリティキーの確認に失敗しました。もう一度お試しください。" },
	{ CM_E_WA_KEY_EXISTS, "SKM-6008", 409, "invalid_request",
	  "This key is already registered.",
	  "このキーは既に登録されています。" },
	{ CM_E_WA_AAL2_REQUIRED, "SKM-6009", 403,
	  "insufficient_user_authentication",
	  "Registering an administrator's key needs a sign-in with two "
	  "factors.",
	  "管理者のキーの登録には二要素でのサインインが必要です。" },
	{ CM_E_WA_ADMIN_ONLY, "SKM-6010", 403, "access_denied",
	  "This page is for administrators.",
	  "このページは管理者専用です。" },
	{ CM_E_WA_PROOFING, "SKM-6011", 403, "access_denied",
	  "An identity proofing record at the required level is needed "
	  "first.",
	  "先に必要なレベルの本人確認記録が必要です。" },
	{ CM_E_WA_BOOTSTRAP, "SKM-6012", 403, "access_denied",
	  "The enrolment code is wrong, expired, or no longer usable.",
	  "登録コードが誤っているか、期限切れか、もう使用できません。" },
	{ CM_E_WA_UNAVAILABLE, "SKM-6013", 503, "temporarily_unavailable",
	  "Security keys are not available on this server right now.",
	  "現在このサーバーではセキュリティキーを利用できません。" },

	{ CM_E_PRF_REQUIRED, "SKM-7001", 403, "access_denied",
	  "A recent identity proofing record at your account's level is "
	  "needed first: see an identity proofing officer.",
	  "先にアカウントのレベルに応じた最近の身元確認が必要です。身元確認"
	  "担当者にお問い合わせください。" },
	{ CM_E_PRF_RECOVERY_DENIED, "SKM-7002", 403, "access_denied",
	  "Recovery needs a recent identity proofing by an officer and the "
	  "recovery code they gave you: the code is wrong, used or expired, "
	  "or there is no valid proofing record.",
	  "回復には担当者による最近の身元確認と、その際に渡された回復コード"
	  "が必要です。コードが誤っているか使用済みか期限切れ、または有効な"
	  "身元確認記録がありません。" },
	{ CM_E_PRF_OFFICER_ONLY, "SKM-7003", 403, "access_denied",
	  "This page is for identity proofing officers.",
	  "このページは身元確認担当者専用です。" },
	{ CM_E_PRF_SELF, "SKM-7004", 403, "access_denied",
	  "An officer cannot record their own identity proofing.",
	  "担当者は自分自身の身元確認を記録できません。" },
	{ CM_E_PRF_INVALID, "SKM-7005", 400, "invalid_request",
	  "The proofing record is incomplete or invalid.",
	  "身元確認の記録が不完全か正しくありません。" },
	{ CM_E_PRF_UNAVAILABLE, "SKM-7006", 503, "temporarily_unavailable",
	  "Identity proofing is not configured on this server.",
	  "このサーバーでは身元確認が設定されていません。" },
	{ CM_E_PRF_DEVICE_MISMATCH, "SKM-7007", 403, "access_denied",
	  "This device does not match its inventory record.",
	  "この端末は資産台帳の記録と一致しません。" },
	{ CM_E_PRF_DEVICE_CERT, "SKM-7008", 401, "invalid_client",
	  "A device certificate is required.",
	  "端末証明書が必要です。" },
	{ CM_E_PRF_DUPLICATE, "SKM-7009", 409, "invalid_request",
	  "This identity document is already bound to another subject.",
	  "この本人確認書類は既に別の対象に結び付けられています。" },

	{ CM_E_SET_INVALID, "SKM-8001", 400, "invalid_request",
	  "The security event token is malformed.",
	  "セキュリティイベントトークンの形式が正しくありません。" },
	{ CM_E_SET_ISSUER, "SKM-8002", 400, "invalid_issuer",
	  "The security event token comes from an unknown issuer.",
	  "セキュリティイベントトークンの発行者が不明です。" },
	{ CM_E_SET_AUDIENCE, "SKM-8003", 400, "invalid_audience",
	  "The security event token is not addressed to this receiver.",
	  "セキュリティイベントトークンの宛先がこの受信者ではありません。" },
	{ CM_E_SET_KEY, "SKM-8004", 400, "invalid_key",
	  "The security event token's signature does not verify.",
	  "セキュリティイベントトークンの署名を検証できません。" },
	{ CM_E_SET_REPLAY, "SKM-8005", 400, "invalid_request",
	  "The security event token was already received, or is stale.",
	  "セキュリティイベントトークンは受信済み、または古すぎます。" },
};

const struct cm_errdef *
cm_errcat_get(enum cm_eid id)
{
	size_t i;

	for (i = 0; i < sizeof(cm_errcat) / sizeof(cm_errcat[0]); i++)
		if (cm_errcat[i].id == id)
			return &cm_errcat[i];
	for (i = 0; i < sizeof(cm_errcat) / sizeof(cm_errcat[0]); i++)
		if (cm_errcat[i].id == CM_E_INTERNAL)
			return &cm_errcat[i];
	return &cm_errcat[0];	/* unreachable: CM_E_INTERNAL exists */
}

const struct cm_errdef *
cm_errcat_all(size_t *n)
{
	*n = sizeof(cm_errcat) / sizeof(cm_errcat[0]);
	return cm_errcat;
}
