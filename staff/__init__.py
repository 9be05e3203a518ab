"""Staff identity: accounts, roles, console sessions and logins, the audit trail. Used alike by the
agent console, the knowledge admin and the campaign console, none of which import each other."""
