"""The demo incident's words, in English and Traditional Chinese (Hong Kong)."""

from __future__ import annotations

TITLE = "Demo: billing database backup copied from a misconfigured storage bucket"
SUMMARY = (
    "A nightly backup of the billing database was readable from the internet for about a "
    "day. Access logs show one download from an unknown address."
)
NOTICE_TEXTS = {
    "en": {
        "what_happened": (
            "A backup copy of our billing database was stored in a place that could be "
            "reached from the internet, and someone we do not know downloaded it."
        ),
        "consequences": (
            "Someone could try to use your payment card, or send you convincing emails that "
            "appear to come from us."
        ),
        "measures": (
            "We closed the access within hours, asked our card processor to watch the cards "
            "involved, and reported the incident to the regulator."
        ),
        "protective_steps": (
            "Check your card statements for payments you do not recognise, and ask your bank "
            "for a new card if you see any. We will never ask you for your password by email."
        ),
        "contact": "Write to privacy@example.com or call +44 20 7946 0000, every day 08:00-20:00.",
    },
    "zh-Hant-HK": {
        "what_happened": "我們帳單資料庫的一份備份存放於可從互聯網存取的位置，並被不明人士下載。",
        "consequences": "有人可能嘗試盜用閣下的付款卡，或向閣下發出看似由我們發出的以假亂真電郵。",
        "measures": "我們已於數小時內封鎖存取，要求發卡機構監察受影響的付款卡，並已向監管機構報告事故。",
        "protective_steps": "請檢查信用卡月結單有否不明交易；如有，請向銀行申請換卡。我們絕不會以電郵要求閣下提供密碼。",
        "contact": "請電郵 privacy@example.com 或致電 +852 3000 0000（每日 08:00-20:00）。",
    },
}
