enum HostTestSupportPlaceholder {}
