using QuickSilver.Engine.Loading;
using QuickSilver.Engine.Runtime;
using TorchSharp;

namespace QuickSilver.Engine.Models;

/// <summary>Loader tensors into model tensors, filled in place.</summary>
internal static unsafe class HostTensors
{
    /// <summary>
    /// A float32 tensor of <paramref name="shape"/> on <paramref name="device"/> holding <paramref name="host"/>'s values.
    /// The values are written straight into the new tensor's storage (a deferred tensor is read from its file there), so
    /// loading never holds a weight twice: <c>torch.tensor(host.Data)</c> kept the managed array and its native copy alive
    /// together, which doubled the peak memory of float files.
    /// </summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the host tensor's.</exception>
    public static torch.Tensor ToTensor(HostTensor host, long[] shape, torch.Device device)
    {
        ArgumentNullException.ThrowIfNull(host);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != host.ElementCount)
            throw new ArgumentException($"Tensor '{host.Name}' has {host.ElementCount} values, not the {count} of shape [{string.Join(", ", shape)}].", nameof(shape));
        if (count > int.MaxValue)
            throw new ArgumentException($"Tensor '{host.Name}' has {count} values, more than one span can address.", nameof(host));
        var cpu = torch.empty(shape, torch.float32);
        try
        {
            host.CopyTo(new Span<float>(HostMemory.Floats(cpu), (int)count));
        }
        catch
        {
            cpu.Dispose();
            throw;
        }
        if (device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }
}
