"""`sitekit policy`: evaluate the policy pack offline (issue 3)."""
