"""An offline Zoho CRM v8 emulator that speaks Zoho's wire protocol."""
