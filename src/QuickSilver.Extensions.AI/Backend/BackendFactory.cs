namespace QuickSilver.Extensions.AI.Backend;

/// <summary>Creates the backend for a set of options; registered in DI only by tests (the default loads the model).</summary>
internal delegate IQuickSilverBackend BackendFactory(QuickSilverOptions options);
